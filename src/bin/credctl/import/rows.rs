//! Reading an import file into `ImportRow`s: JSON Lines (one object a
//! line) or CSV (a header row naming the columns). Both have the same
//! fields: `account` (or `account_id`), `kind` (`api_key`, the default, or
//! `passcode`), `environment` (`live`, the default, or `test`), `name`,
//! `description`, `scopes` (a JSON array, or words separated by spaces or
//! commas), `notify_emails` (the same), `expires_at`, `created_at`,
//! `last_used_at` (RFC 3339), `metadata` (a JSON object, or its text),
//! `external_id`, and exactly one of `secret`, `sha256_hex`,
//! `sha256_base64`. A row that cannot be read fails with its line number
//! and is not sent; an unknown field is such a failure (a misspelt column
//! would otherwise be dropped silently). No message carries a value.

use std::path::Path;

use serde_json::{Map, Value};

use credd::api::pb;

use crate::args::FormatArg;

/// One row of the file: its line (from 1) and the row, or why it cannot
/// be read.
pub(crate) struct Parsed {
    pub(crate) line: u64,
    pub(crate) external_id: String,
    pub(crate) row: Result<pb::ImportRow, String>,
}

/// The format `--format` names, else the file's extension's.
pub(crate) fn format_of(path: &Path, flag: Option<FormatArg>) -> Result<FormatArg, String> {
    if let Some(format) = flag {
        return Ok(format);
    }
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("jsonl" | "ndjson" | "json") => Ok(FormatArg::Jsonl),
        Some("csv") => Ok(FormatArg::Csv),
        _ => Err(format!(
            "cannot tell the format of {} from its extension; pass --format jsonl or --format csv",
            path.display()
        )),
    }
}

/// Every row of `text` in `format`.
pub(crate) fn parse(text: &str, format: FormatArg) -> Result<Vec<Parsed>, String> {
    match format {
        FormatArg::Jsonl => Ok(parse_jsonl(text)),
        FormatArg::Csv => parse_csv(text),
    }
}

fn parse_jsonl(text: &str) -> Vec<Parsed> {
    let mut rows = Vec::new();
    for (at, line) in text.lines().enumerate() {
        let line_no = at as u64 + 1;
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        let fields = match serde_json::from_str::<Value>(trimmed) {
            Ok(Value::Object(fields)) => Ok(fields),
            Ok(_) => Err("not a JSON object".to_string()),
            Err(e) => Err(format!(
                "not JSON ({} at column {})",
                classify(&e),
                e.column()
            )),
        };
        rows.push(parsed(line_no, fields));
    }
    rows
}

/// What kind of JSON error, without the input serde_json may quote.
fn classify(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Eof => "unexpected end",
        serde_json::error::Category::Data => "bad value",
        serde_json::error::Category::Io => "read error",
    }
}

fn parse_csv(text: &str) -> Result<Vec<Parsed>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| format!("cannot read the CSV header row: {}", csv_error(&e)))?
        .clone();
    let mut rows = Vec::new();
    for record in reader.records() {
        let (line_no, fields) = match record {
            Ok(record) => {
                let line = record.position().map_or(0, |p| p.line());
                if record.iter().all(str::is_empty) {
                    continue;
                }
                if record.len() != headers.len() {
                    let message = format!(
                        "{} cells, but the header has {}",
                        record.len(),
                        headers.len()
                    );
                    (line, Err(message))
                } else {
                    let fields: Map<String, Value> = headers
                        .iter()
                        .zip(record.iter())
                        .filter(|(_, v)| !v.is_empty())
                        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
                        .collect();
                    (line, Ok(fields))
                }
            }
            Err(e) => (
                e.position().map_or(0, |p| p.line()),
                Err(format!("cannot read the CSV row: {}", csv_error(&e))),
            ),
        };
        rows.push(parsed(line_no, fields));
    }
    Ok(rows)
}

/// A CSV error's kind, without the cell text.
fn csv_error(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "not UTF-8".to_string(),
        csv::ErrorKind::UnequalLengths { .. } => "unequal row lengths".to_string(),
        csv::ErrorKind::Io(e) => e.to_string(),
        _ => "malformed CSV".to_string(),
    }
}

fn parsed(line: u64, fields: Result<Map<String, Value>, String>) -> Parsed {
    let external_id = fields
        .as_ref()
        .ok()
        .and_then(|f| f.get("external_id"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    Parsed {
        line,
        external_id,
        row: fields.and_then(row),
    }
}

fn text(field: &str, value: &Value) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Null => Ok(String::new()),
        _ => Err(format!("{field} must be a string")),
    }
}

fn list(field: &str, value: &Value) -> Result<Vec<String>, String> {
    match value {
        Value::Array(items) => items.iter().map(|v| text(field, v)).collect(),
        Value::String(s) => Ok(s
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect()),
        Value::Null => Ok(Vec::new()),
        _ => Err(format!("{field} must be a list or a string")),
    }
}

fn time(field: &str, value: &Value) -> Result<Option<prost_types::Timestamp>, String> {
    let text = text(field, value)?;
    if text.is_empty() {
        return Ok(None);
    }
    let t = chrono::DateTime::parse_from_rfc3339(&text)
        .map_err(|_| format!("{field} is not an RFC 3339 time (e.g. 2026-01-31T12:00:00Z)"))?;
    Ok(Some(prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0),
    }))
}

fn kind(value: &Value) -> Result<pb::Kind, String> {
    Ok(match text("kind", value)?.to_ascii_lowercase().as_str() {
        "" | "api_key" | "api" | "apikey" => pb::Kind::ApiKey,
        "passcode" | "pass" => pb::Kind::Passcode,
        // Sent as they are, so credd refuses them with its reason.
        "admin_key" | "admin" => pb::Kind::AdminKey,
        "customer_key" | "customer" => pb::Kind::CustomerKey,
        "session" => pb::Kind::Session,
        _ => return Err("kind must be api_key or passcode".to_string()),
    })
}

fn environment(value: &Value) -> Result<pb::Environment, String> {
    Ok(
        match text("environment", value)?.to_ascii_lowercase().as_str() {
            "" | "live" => pb::Environment::Live,
            "test" => pb::Environment::Test,
            _ => return Err("environment must be live or test".to_string()),
        },
    )
}

/// The `ImportRow` of one object's fields.
fn row(fields: Map<String, Value>) -> Result<pb::ImportRow, String> {
    let mut row = pb::ImportRow::default();
    let mut keys = Vec::new();
    for (field, value) in &fields {
        match field.as_str() {
            "account" | "account_id" => row.account_id = text(field, value)?,
            "kind" => row.kind = kind(value)? as i32,
            "environment" => row.environment = environment(value)? as i32,
            "name" => row.name = text(field, value)?,
            "description" => row.description = text(field, value)?,
            "scopes" => row.scopes = list(field, value)?,
            "notify_emails" => row.notify_emails = list(field, value)?,
            "expires_at" => row.expires_at = time(field, value)?,
            "created_at" => row.created_at = time(field, value)?,
            "last_used_at" => row.last_used_at = time(field, value)?,
            "metadata" => {
                row.metadata = match value {
                    Value::Object(_) => value.to_string(),
                    other => text(field, other)?,
                };
            }
            "external_id" => row.external_id = text(field, value)?,
            "secret" | "sha256_hex" | "sha256_base64" => {
                let given = text(field, value)?;
                if !given.is_empty() {
                    keys.push(match field.as_str() {
                        "secret" => pb::import_row::Key::Secret(given),
                        "sha256_hex" => pb::import_row::Key::Sha256Hex(given),
                        _ => pb::import_row::Key::Sha256Base64(given),
                    });
                }
            }
            other => return Err(format!("unknown field {other:?}")),
        }
    }
    if keys.len() > 1 {
        return Err("give only one of secret, sha256_hex and sha256_base64".to_string());
    }
    row.key = keys.pop();
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonl_rows_and_their_failures() {
        let text = "{\"account\":\"acme\",\"external_id\":\"e1\",\"secret\":\"0123456789abcdef0123456789abcdef\",\"scopes\":[\"a\",\"b\"]}\n\nnot json\n{\"account\":\"acme\",\"secret\":\"x\",\"sha256_hex\":\"y\"}\n{\"acount\":\"acme\"}\n";
        let rows = parse(text, FormatArg::Jsonl).unwrap();
        assert_eq!(rows.len(), 4);
        let first = rows[0].row.as_ref().unwrap();
        assert_eq!(first.scopes, vec!["a", "b"]);
        assert_eq!(rows[0].external_id, "e1");
        assert_eq!(rows[1].line, 3);
        assert!(rows[1].row.as_ref().unwrap_err().starts_with("not JSON"));
        assert!(rows[2].row.as_ref().unwrap_err().contains("only one"));
        assert!(rows[3].row.as_ref().unwrap_err().contains("unknown field"));
    }

    #[test]
    fn csv_rows_with_their_lines() {
        let text = "account,external_id,sha256_hex,scopes,created_at\nacme,e1,abcd,read write,2026-01-01T00:00:00Z\nacme,e2,abcd,,yesterday\n";
        let rows = parse(text, FormatArg::Csv).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].line, 2);
        let first = rows[0].row.as_ref().unwrap();
        assert_eq!(first.scopes, vec!["read", "write"]);
        assert!(first.created_at.is_some());
        assert_eq!(rows[1].line, 3);
        assert!(rows[1].row.as_ref().unwrap_err().contains("RFC 3339"));
    }
}
