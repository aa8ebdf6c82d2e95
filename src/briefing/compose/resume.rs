//! The candidate's résumé, in lines.

use chrono::{DateTime, Datelike, Utc};
use serde_json::Value;

use crate::briefing::gather::Gathered;

use super::fields::text_of;

/// The résumé's current role, years of experience and education.
pub(super) fn resume_lines(g: &Gathered, now: DateTime<Utc>) -> (Option<String>, Option<String>) {
    let parsed = g
        .resumes
        .iter()
        .max_by_key(|r| r.get("createdAt").and_then(Value::as_i64).unwrap_or(0))
        .and_then(|r| r.get("parsedData"));
    let Some(parsed) = parsed else {
        return (None, None);
    };
    let month = |v: Option<&Value>| -> Option<i64> {
        let v = v?;
        let year = v.get("year").and_then(Value::as_i64)?;
        let m = v
            .get("month")
            .and_then(Value::as_i64)
            .unwrap_or(1)
            .clamp(1, 12);
        Some(year * 12 + m - 1)
    };
    let this_month = i64::from(now.year()) * 12 + i64::from(now.month0());
    let positions: Vec<&Value> = parsed
        .get("positions")
        .and_then(Value::as_array)
        .map(|p| p.iter().collect())
        .unwrap_or_default();
    let mut spans: Vec<(i64, i64)> = positions
        .iter()
        .filter_map(|p| {
            let start = month(p.get("start"))?;
            let end = month(p.get("end")).unwrap_or(this_month);
            (end >= start).then_some((start, end + 1))
        })
        .collect();
    spans.sort();
    let mut months = 0;
    let mut reach = i64::MIN;
    for (s, e) in spans {
        let s = s.max(reach);
        if e > s {
            months += e - s;
        }
        reach = reach.max(e);
    }
    let current = positions
        .iter()
        .find(|p| month(p.get("end")).is_none())
        .or_else(|| positions.iter().max_by_key(|p| month(p.get("start"))));
    let role = current.map(|p| {
        let title = text_of(p, "title").unwrap_or("a role");
        let org = text_of(p, "org")
            .map(|o| format!(" at {o}"))
            .unwrap_or_default();
        let since = p
            .get("start")
            .and_then(|s| s.get("year"))
            .and_then(Value::as_i64)
            .map(|y| format!(" (since {y})"))
            .unwrap_or_default();
        let now = if month(p.get("end")).is_none() {
            ""
        } else {
            "most recently "
        };
        format!("{now}{title}{org}{since}")
    });
    let years = (months as f64 / 12.0).round() as i64;
    let school = parsed
        .get("schools")
        .and_then(Value::as_array)
        .and_then(|s| s.first())
        .map(|s| {
            let what: Vec<&str> = [text_of(s, "degree"), text_of(s, "field")]
                .into_iter()
                .flatten()
                .collect();
            let org = text_of(s, "org").unwrap_or("a school");
            if what.is_empty() {
                org.to_owned()
            } else {
                format!("{}, {org}", what.join(" in "))
            }
        });
    let mut exp = if positions.is_empty() {
        None
    } else {
        let roles = positions.len();
        Some(format!(
            "About {years} year{} of experience across {roles} role{} (from the résumé Lever parsed)",
            if years == 1 { "" } else { "s" },
            if roles == 1 { "" } else { "s" }
        ))
    };
    if let Some(school) = school {
        exp = Some(match exp {
            Some(e) => format!("{e}; education: {school}."),
            None => format!("Education: {school}."),
        });
    } else if let Some(e) = exp.as_mut() {
        e.push('.');
    }
    (role, exp)
}
