-- The panel_view table recomputed from the input tables, in DuckDB.
with
ratings as (select * exclude (time, diff), sum(diff) as n from read_parquet('{inputs}/ratings/*.parquet') group by all having sum(diff) > 0),
r as (select reviewer_id, candidate_id, posting_id, competency, rating, unnest(range(n::bigint)) as rep from ratings),
scores as (select * exclude (time, diff), sum(diff) as n from read_parquet('{inputs}/scores/*.parquet') group by all having sum(diff) > 0),
units as (select candidate_id, posting_id, competency, cast(round(score * 100) as bigint) as centi, unnest(range(n::bigint)) as rep from scores),
ai as (select posting_id, candidate_id, competency, count(*) as an, sum(centi) as asum from units group by all),
panels as (
    select posting_id, candidate_id, competency, count(*) as panelists,
           string_agg(reviewer_id || '=' || rating, ';' order by reviewer_id, rating) as ratings,
           avg(rating) as rating_mean,
           case when count(*) >= 2 then stddev_pop(rating) end as dispersion,
           max(rating) - min(rating) as rating_range
    from r group by posting_id, candidate_id, competency)
select p.posting_id, p.candidate_id, p.competency, p.panelists, p.ratings, p.rating_mean, p.dispersion, p.rating_range,
       a.asum::double / (100 * a.an) as ai_score, coalesce(a.an, 0) as ai_scores,
       a.asum::double / (100 * a.an) - p.rating_mean as ai_minus_panel
from panels p left join ai a using (posting_id, candidate_id, competency)
order by all
