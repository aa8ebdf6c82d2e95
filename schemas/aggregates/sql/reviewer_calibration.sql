-- The reviewer_calibration table recomputed from the input tables, in DuckDB.
with
ratings as (select * exclude (time, diff), sum(diff) as n from read_parquet('{inputs}/ratings/*.parquet') group by all having sum(diff) > 0),
r as (select reviewer_id, candidate_id, posting_id, competency, rating, unnest(range(n::bigint)) as rep from ratings),
panel as (select posting_id, candidate_id, competency, count(*) as pn, sum(rating) as ps from r group by all),
scores as (select * exclude (time, diff), sum(diff) as n from read_parquet('{inputs}/scores/*.parquet') group by all having sum(diff) > 0),
units as (select candidate_id, posting_id, competency, cast(round(score * 100) as bigint) as centi, unnest(range(n::bigint)) as rep from scores),
ai as (select posting_id, candidate_id, competency, count(*) as an, sum(centi) as asum from units group by all),
obs as (
    select r.reviewer_id, r.posting_id, r.competency, r.rating,
           case when p.pn >= 2 then (r.rating * p.pn - p.ps)::double / (p.pn - 1) end as off,
           case when p.pn >= 2 then (2 * abs(r.rating * p.pn - p.ps) <= p.pn - 1)::int end as agree_panel,
           case when a.an >= 1 then (100 * a.an * r.rating - a.asum)::double / (100 * a.an) end as ai_off,
           case when a.an >= 1 then (2 * abs(100 * a.an * r.rating - a.asum) <= 100 * a.an)::int end as agree_ai
    from r join panel p using (posting_id, candidate_id, competency)
    left join ai a using (posting_id, candidate_id, competency)),
scoped as (
    select reviewer_id, 'all' as scope_kind, 'all' as scope, rating, off, agree_panel, ai_off, agree_ai from obs
    union all select reviewer_id, 'posting', posting_id, rating, off, agree_panel, ai_off, agree_ai from obs
    union all select reviewer_id, 'competency', competency, rating, off, agree_panel, ai_off, agree_ai from obs)
select reviewer_id, scope_kind, scope,
       count(*) as ratings, avg(rating) as mean, stddev_pop(rating) as std,
       count(*) filter (where rating in (1, 4))::double / count(*) as extreme_share,
       count(off) as co_rated, avg(off) as leniency, avg(agree_panel) as agreement_panel,
       count(ai_off) as ai_compared, avg(ai_off) as ai_offset, avg(agree_ai) as agreement_ai
from scoped
group by reviewer_id, scope_kind, scope
order by all
