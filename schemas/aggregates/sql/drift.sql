-- The drift table recomputed from the input tables, in DuckDB.
-- {reference_weeks}: weeks in the reference window (2 by default).
with
scores as (select * exclude (time, diff), sum(diff) as n from read_parquet('{inputs}/scores/*.parquet') group by all having sum(diff) > 0),
signals as (select * exclude (time, diff), sum(diff) as n from read_parquet('{inputs}/interview_signals/*.parquet') group by all having sum(diff) > 0),
vals as (
    select model_version, 'score' as metric, week_start, cast(round(score * 100) as bigint) as v, n from scores
    union all select model_version, 'sentiment', week_start, cast(round(sentiment * 100) as bigint), n from signals where sentiment is not null
    union all select model_version, 'transcription_confidence', week_start, cast(round(transcription_confidence * 100) as bigint), n from signals where transcription_confidence is not null),
hist as (select model_version, metric, week_start, v, sum(n) as c from vals group by all),
weeks as (
    select model_version, metric, week_start,
           dense_rank() over (partition by model_version, metric order by week_start) <= {reference_weeks} as in_ref
    from (select distinct model_version, metric, week_start from hist)),
ref as (select h.model_version, h.metric, h.v, sum(h.c) as c from hist h join weeks w using (model_version, metric, week_start) where w.in_ref group by all),
ref_window as (select model_version, metric, min(week_start) as reference_start, max(week_start) as reference_end from weeks where in_ref group by all),
ranges as (select * from (values ('score', 100, 400), ('sentiment', -100, 100), ('transcription_confidence', 0, 100)) t(metric, lo, hi)),
wtot as (select model_version, metric, week_start, sum(c) as n, sum(v * c) as s from hist group by all),
rtot as (select model_version, metric, sum(c) as m from ref group by all),
cur_bins as (select h.model_version, h.metric, h.week_start, least(greatest(((h.v - g.lo) * 10) // (g.hi - g.lo), 0), 9) as bin, sum(h.c) as c
             from hist h join ranges g using (metric) group by all),
ref_bins as (select h.model_version, h.metric, least(greatest(((h.v - g.lo) * 10) // (g.hi - g.lo), 0), 9) as bin, sum(h.c) as c
             from ref h join ranges g using (metric) group by all),
grid as (select w.model_version, w.metric, w.week_start, b.bin from weeks w cross join range(10) b(bin)),
shares as (
    select g.model_version, g.metric, g.week_start,
           greatest(coalesce(cb.c, 0)::double / t.n, 1e-4) as p,
           greatest(coalesce(rb.c, 0)::double / r.m, 1e-4) as q
    from grid g
    join wtot t using (model_version, metric, week_start)
    join rtot r using (model_version, metric)
    left join cur_bins cb using (model_version, metric, week_start, bin)
    left join ref_bins rb using (model_version, metric, bin)),
psi as (select model_version, metric, week_start, sum((p - q) * ln(p / q)) as psi from shares group by all),
xs as (select distinct model_version, metric, v from hist),
steps as (
    select w.model_version, w.metric, w.week_start, x.v, coalesce(h.c, 0) as hc, coalesce(r.c, 0) as rc
    from weeks w join xs x using (model_version, metric)
    left join hist h using (model_version, metric, week_start, v)
    left join ref r using (model_version, metric, v)),
cdf as (
    select s.model_version, s.metric, s.week_start,
           sum(hc) over (partition by s.model_version, s.metric, s.week_start order by s.v) as a,
           sum(rc) over (partition by s.model_version, s.metric, s.week_start order by s.v) as b
    from steps s),
ks as (
    select c.model_version, c.metric, c.week_start, max(abs(c.a::double / t.n - c.b::double / r.m)) as ks
    from cdf c join wtot t using (model_version, metric, week_start) join rtot r using (model_version, metric)
    group by all)
select w.model_version, w.metric, w.week_start, t.n, t.s::double / (100 * t.n) as mean,
       rw.reference_start, rw.reference_end, r.m as reference_n, w.in_ref as in_reference,
       p.psi,
       case when p.psi >= 0.25 then 'major' when p.psi >= 0.1 then 'moderate' else 'stable' end as psi_level,
       p.psi >= 0.1 as flagged,
       k.ks, 1.358 * sqrt((t.n + r.m)::double / (t.n * r.m)) as ks_critical,
       k.ks > 1.358 * sqrt((t.n + r.m)::double / (t.n * r.m)) as ks_significant
from weeks w
join wtot t using (model_version, metric, week_start)
join rtot r using (model_version, metric)
join ref_window rw using (model_version, metric)
join psi p using (model_version, metric, week_start)
join ks k using (model_version, metric, week_start)
order by all
