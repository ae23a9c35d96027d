//! Removing contact details from text before it leaves for a model: email addresses and phone
//! numbers become placeholders, and columns that are contact details are dropped whole.

pub use moha_edge::pii::scrub;
use moha_edge::Row;
use serde_json::Value;

/// Columns never sent, whatever they hold.
const PII_COLUMNS: &[&str] = &[
    "email",
    "phone",
    "client_name",
    "full_name",
    "sender_id",
    "username",
    "access_token",
];

/// Drops contact columns and scrubs every remaining string value.
pub fn scrub_rows(rows: Vec<Row>) -> Vec<Row> {
    rows.into_iter()
        .map(|row| {
            row.into_iter()
                .filter(|(k, _)| !PII_COLUMNS.contains(&k.as_str()))
                .map(|(k, v)| match v {
                    Value::String(s) => (k, Value::String(scrub(&s))),
                    other => (k, other),
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_columns_are_dropped() {
        let row = serde_json::json!({"email": "a@b.co", "phone": "1", "status": "new", "note": "mail a@b.co"});
        let out = scrub_rows(vec![row.as_object().unwrap().clone()]);
        assert_eq!(
            Value::Object(out[0].clone()),
            serde_json::json!({"status": "new", "note": "mail [email]"})
        );
    }
}
