//! Unit tests of the bias audit: the incremental [`ScopeAudit`] against
//! the from-scratch [`audit_group`].

use super::*;

/// A small deterministic generator (xorshift).
struct Rng(u64);
impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

type Candidate = (F64, Option<Sym>, Option<Sym>, bool);

fn categories(c: &Candidate) -> [Option<Sym>; 3] {
    Dimension::ALL.map(|d| d.category(c.1.as_ref(), c.2.as_ref()))
}

/// The incremental audit equals `audit_group` over all values after
/// every time, with updates shuffled within a time (so counts go
/// negative while it is applied) and the median moving both ways.
#[test]
fn scope_audit_equals_audit_group_at_every_time() {
    let cfg = BiasConfig::default();
    let sexes = [None, Some(Sym::from("f")), Some(Sym::from("m"))];
    let races = [
        None,
        Some(Sym::from("x")),
        Some(Sym::from("y")),
        Some(Sym::from("z")),
    ];
    for seed in 1..40u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let mut audit = ScopeAudit::default();
        let mut live: Vec<Candidate> = Vec::new();
        for _time in 0..30 {
            let mut ops: Vec<(Candidate, i64)> = Vec::new();
            for _ in 0..rng.next(12) {
                if !live.is_empty() && rng.next(3) == 0 {
                    let c = live.swap_remove(rng.next(live.len() as u64) as usize);
                    ops.push((c, -1));
                } else {
                    // Scores drift upwards then downwards, moving the median.
                    let centre = if _time < 15 {
                        150 + 10 * _time
                    } else {
                        450 - 10 * _time
                    };
                    let score = F64((centre + rng.next(60) as i64) as f64 / 100.0);
                    let c = (
                        score,
                        sexes[rng.next(3) as usize].clone(),
                        races[rng.next(4) as usize].clone(),
                        rng.next(2) == 0,
                    );
                    live.push(c.clone());
                    ops.push((c, 1));
                }
            }
            // Shuffle: a removal may come before the insertion it cancels.
            for i in (1..ops.len()).rev() {
                ops.swap(i, rng.next(i as u64 + 1) as usize);
            }
            for (c, n) in &ops {
                audit.update(c.0, categories(c), c.3, *n);
            }
            let mut got = Vec::new();
            audit.rows(&Scope::Overall, cfg, &mut got);
            let mut got: Vec<BiasRow> = got.into_iter().map(|(r, _)| r).collect();
            got.sort();
            let mut want = Vec::new();
            for d in Dimension::ALL {
                let values: Vec<(AuditValue, isize)> = live
                    .iter()
                    .map(|c| ((d.category(c.1.as_ref(), c.2.as_ref()), c.0, c.3), 1))
                    .collect();
                let refs: Vec<_> = values.iter().map(|(v, n)| (v, *n)).collect();
                want.extend(audit_group(&Scope::Overall, d, &refs, cfg));
            }
            want.sort();
            assert_eq!(got, want, "seed {seed}");
        }
    }
}
