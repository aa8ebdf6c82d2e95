-- The bias_audit table recomputed from the input tables, in DuckDB.
-- {inputs} is the dataset's inputs/ folder. tests/aggregates.rs holds the
-- dataflow's bias_audit snapshot to this query (to 1e-9).
with
scores as (select * exclude (time, diff), sum(diff) as n from read_parquet('{inputs}/scores/*.parquet') group by all having sum(diff) > 0),
units as (select candidate_id, posting_id, job_family, model_version, cast(round(score * 100) as bigint) as centi, unnest(range(n::bigint)) as rep from scores),
scoped as (
    select candidate_id, 'overall' as scope_kind, 'overall' as scope, posting_id, centi from units
    union all select candidate_id, 'posting', posting_id, posting_id, centi from units
    union all select candidate_id, 'job_family', job_family, posting_id, centi from units
    union all select candidate_id, 'model_version', model_version, posting_id, centi from units),
decisions as (select * exclude (time, diff), sum(diff) as n from read_parquet('{inputs}/decisions/*.parquet') group by all having sum(diff) > 0),
advanced as (select distinct candidate_id, posting_id from decisions where decision = 'advance'),
demo as (select * exclude (time, diff), sum(diff) as n from read_parquet('{inputs}/demographics/*.parquet') group by all having sum(diff) > 0),
cand_demo as (
    select candidate_id,
           case when count(distinct coalesce(sex, '<unknown>')) = 1 then min(sex) end as sex,
           case when count(distinct coalesce(race_ethnicity, '<unknown>')) = 1 then min(race_ethnicity) end as race
    from demo group by candidate_id),
facts as (
    select s.candidate_id, s.scope_kind, s.scope,
           sum(s.centi)::double / (100 * count(*)) as score,
           bool_or(a.candidate_id is not null) as selected
    from scoped s left join advanced a on a.candidate_id = s.candidate_id and a.posting_id = s.posting_id
    group by s.candidate_id, s.scope_kind, s.scope),
facts_dim as (
    select f.*, d.dim,
           case d.dim when 'sex' then cd.sex
                      when 'race_ethnicity' then cd.race
                      else case when cd.sex is not null and cd.race is not null then cd.sex || ' / ' || cd.race end end as category
    from facts f left join cand_demo cd using (candidate_id)
    cross join (values ('sex'), ('race_ethnicity'), ('intersection')) d(dim)),
med as (
    select scope_kind, scope, dim, quantile_cont(score, 0.5) as median, count(*) as sample,
           count(*) filter (where category is null) as unknown
    from facts_dim group by scope_kind, scope, dim),
cats as (
    select fd.scope_kind, fd.scope, fd.dim, fd.category, count(*) as assessed,
           count(*) filter (where fd.selected) as selected,
           count(*) filter (where fd.score > m.median) as above,
           any_value(m.median) as median, any_value(m.sample) as sample, any_value(m.unknown) as unknown
    from facts_dim fd join med m using (scope_kind, scope, dim)
    where fd.category is not null
    group by fd.scope_kind, fd.scope, fd.dim, fd.category),
rated as (
    select *, selected::double / assessed as selection_rate, above::double / assessed as scoring_rate,
           assessed::double / sum(assessed) over (partition by scope_kind, scope, dim) as share
    from cats),
sized as (
    select *, share < 0.02 as small,
           bool_or(share >= 0.02) over (partition by scope_kind, scope, dim) as any_large
    from rated),
best as (
    select *,
           max(case when not small or not any_large then selection_rate end) over (partition by scope_kind, scope, dim) as best_sel,
           max(case when not small or not any_large then scoring_rate end) over (partition by scope_kind, scope, dim) as best_scr
    from sized),
ratios as (
    select *,
           case when best_sel > 0 then selection_rate / best_sel end as ir_sel,
           case when best_scr > 0 then scoring_rate / best_scr end as ir_scr
    from best)
select scope_kind, scope, dim as dimension, category, assessed, selected, selection_rate,
       above as scored_above, scoring_rate,
       ir_sel as impact_ratio_selection, ir_scr as impact_ratio_scoring,
       (not small and coalesce(ir_sel < 0.8, false)) or (not small and coalesce(ir_scr < 0.8, false)) as flagged,
       not small and coalesce(ir_sel < 0.8, false) as flagged_selection,
       not small and coalesce(ir_scr < 0.8, false) as flagged_scoring,
       unknown as unknown_excluded, share, small as small_category, sample as sample_size, median as median_score
from ratios
order by all
