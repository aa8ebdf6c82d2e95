//! The column contract in `schemas/parquet/*.json`: each Arrow schema the
//! sink writes matches its JSON contract.

use crate::parquet::*;
use arrow::datatypes::{DataType, Schema, TimeUnit};
use parquet::arrow::ArrowSchemaConverter;
use parquet::basic::LogicalType;
use std::fs;
use std::path::Path;

fn arrow_type_name(t: &DataType) -> String {
    match t {
        DataType::Timestamp(unit, tz) => {
            let unit = match unit {
                TimeUnit::Second => "Second",
                TimeUnit::Millisecond => "Millisecond",
                TimeUnit::Microsecond => "Microsecond",
                TimeUnit::Nanosecond => "Nanosecond",
            };
            match tz {
                Some(tz) => format!("Timestamp({unit}, {tz})"),
                None => format!("Timestamp({unit})"),
            }
        }
        other => format!("{other:?}"),
    }
}

fn parquet_type_name(col: &parquet::schema::types::ColumnDescriptor) -> String {
    let physical = format!("{:?}", col.physical_type());
    match col.logical_type_ref() {
        None => physical,
        Some(LogicalType::String) => format!("{physical} (STRING)"),
        Some(LogicalType::Timestamp(t)) => {
            let unit = format!("{:?}", t.unit);
            let utc = if t.is_adjusted_to_u_t_c { ", UTC" } else { "" };
            format!("{physical} (TIMESTAMP({unit}{utc}))")
        }
        Some(other) => format!("{physical} ({other:?})"),
    }
}

fn check_contract(file: &str, schema: &Schema) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../schemas/parquet")
        .join(file);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let doc: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let columns = doc["columns"].as_array().expect("`columns` array");
    let parquet = ArrowSchemaConverter::new()
        .convert(schema)
        .expect("arrow → parquet schema");

    let described: Vec<(String, String, String, bool)> = columns
        .iter()
        .map(|c| {
            assert!(
                c["description"].as_str().is_some_and(|d| !d.is_empty()),
                "{file}: {} has no description",
                c["name"]
            );
            assert!(
                c["duckdb_type"].is_string(),
                "{file}: {} has no duckdb_type",
                c["name"]
            );
            (
                c["name"].as_str().expect("name").to_string(),
                c["arrow_type"].as_str().expect("arrow_type").to_string(),
                c["parquet_type"]
                    .as_str()
                    .expect("parquet_type")
                    .to_string(),
                c["nullable"].as_bool().expect("nullable"),
            )
        })
        .collect();
    let actual: Vec<(String, String, String, bool)> = schema
        .fields()
        .iter()
        .zip(parquet.columns())
        .map(|(f, p)| {
            assert_eq!(f.name(), p.name());
            assert_eq!(f.is_nullable(), p.self_type().is_optional(), "{}", f.name());
            (
                f.name().clone(),
                arrow_type_name(f.data_type()),
                parquet_type_name(p),
                f.is_nullable(),
            )
        })
        .collect();
    assert_eq!(
        described,
        actual,
        "{file} no longer matches the writer's schema; actual:\n{}",
        serde_json::to_string_pretty(&actual).unwrap_or_default()
    );
    let partitions = doc["partitioning"].as_array().expect("partitioning");
    assert_eq!(partitions.len(), 1);
    assert_eq!(partitions[0]["name"], PARTITION_COLUMN);
    assert!(
        schema.field_with_name(PARTITION_COLUMN).is_err(),
        "the partition column must not also be stored in the files"
    );
}

#[test]
fn interviews_schema_matches_its_contract() {
    check_contract("interviews.json", &interviews_schema());
}

#[test]
fn segments_schema_matches_its_contract() {
    check_contract("segments.json", &segments_schema());
}

#[test]
fn responses_schema_matches_its_contract() {
    check_contract("responses.json", &responses_schema());
}

#[test]
fn scores_schema_matches_its_contract() {
    check_contract("scores.json", &scores_schema());
}

#[test]
fn audit_schema_matches_its_contract() {
    check_contract("audit.json", &audit_schema());
}
