//! Storage buckets.

use super::*;

pub(super) fn bucket(b: &Bucket) -> Result<String, Error> {
    let limit = match b.file_size_limit {
        Some(l) => l.to_string(),
        None => "null".into(),
    };
    let mimes = if b.allowed_mime_types.is_empty() {
        "null".to_string()
    } else {
        format!(
            "array[{}]",
            b.allowed_mime_types
                .iter()
                .map(|m| literal(m))
                .collect::<Result<Vec<_>, _>>()?
                .join(", ")
        )
    };
    let id = literal(&b.id)?;
    Ok(format!(
        "insert into storage.buckets (id, name, public, file_size_limit, allowed_mime_types)\n  values ({id}, {id}, {}, {limit}, {mimes})\n  on conflict (id) do update set public = excluded.public, file_size_limit = excluded.file_size_limit, allowed_mime_types = excluded.allowed_mime_types;\n",
        b.public
    ))
}
