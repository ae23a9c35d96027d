//! Reading migration files: names, versions, contents, checksums. Nothing here touches a database.

use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::error::MigrateError;
use super::split::{split, Statement};

/// One file of `supabase/migrations`.
#[derive(Debug, Clone)]
pub struct Migration {
    /// The 14-digit UTC timestamp that starts the file name.
    pub version: String,
    /// The rest of the file name without `.sql`, as the Supabase CLI records it.
    pub name: String,
    pub path: PathBuf,
    pub sql: String,
    /// sha256 of the file's bytes, hex.
    pub checksum: String,
    pub statements: Vec<Statement>,
}

impl Migration {
    pub fn file_name(&self) -> String {
        format!("{}_{}.sql", self.version, self.name)
    }

    /// The statement texts, as the `statements` column holds them.
    pub fn statement_texts(&self) -> Vec<String> {
        self.statements.iter().map(|s| s.text.clone()).collect()
    }

    /// 1-based line of byte `offset` in the file.
    pub fn line_of(&self, offset: usize) -> usize {
        self.sql[..offset.min(self.sql.len())].matches('\n').count() + 1
    }

    /// Refuses statements that end or abandon the transaction the migrator wraps the file in,
    /// since the file and its ledger row would no longer commit together.
    fn check_transaction_control(&self) -> Result<(), MigrateError> {
        for stmt in &self.statements {
            let words = stmt.first_words(2);
            let ends_transaction = match words.first().map(String::as_str) {
                Some("commit" | "end" | "abort") => true,
                Some("rollback") => {
                    !matches!(words.get(1).map(String::as_str), Some("to" | "prepared"))
                }
                Some("prepare") => words.get(1).is_some_and(|w| w == "transaction"),
                _ => false,
            };
            if ends_transaction {
                return Err(MigrateError::TransactionControl {
                    path: self.path.clone(),
                    line: self.line_of(stmt.span.start),
                    statement: stmt.text.clone(),
                });
            }
        }
        Ok(())
    }
}

/// Hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// sha256 of a ledger row's statements (NULL in rows of very old CLI versions), to tell whether the
/// row is the one a checksum was taken with.
pub fn statements_sha256(statements: Option<&[String]>) -> String {
    let json = serde_json::to_string(&statements).expect("strings always serialise");
    sha256_hex(json.as_bytes())
}

/// Checks a file name; returns `(version, name)`.
///
/// The Supabase CLI matches `^([0-9]+)_(.*)\.sql$` and skips anything else with a warning; we
/// refuse instead, and also require the 14-digit UTC timestamp its `migration new` writes and a
/// plain name, so a typo cannot silently drop a migration.
pub fn parse_file_name(file_name: &str) -> Result<(String, String), String> {
    let Some(stem) = file_name.strip_suffix(".sql") else {
        return Err("it does not end in .sql".into());
    };
    let Some((version, name)) = stem.split_once('_') else {
        return Err("there is no `_` between the timestamp and the name".into());
    };
    if version.len() != 14 || !version.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "`{version}` is not a 14-digit timestamp (YYYYMMDDHHMMSS)"
        ));
    }
    if chrono::NaiveDateTime::parse_from_str(version, "%Y%m%d%H%M%S").is_err() {
        return Err(format!(
            "`{version}` is not a valid date and time (YYYYMMDDHHMMSS)"
        ));
    }
    check_name(name)?;
    Ok((version.to_string(), name.to_string()))
}

/// A migration name: letters, digits, `_` and `-`.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the name after the timestamp is empty".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(format!(
            "the name `{name}` contains {c:?}; use letters, digits, `_` or `-`"
        ));
    }
    Ok(())
}

/// Reads every migration of `dir`, sorted by version. A missing directory has no migrations.
/// Hidden files (`.gitkeep`) are ignored; any other file must be a well-named migration.
pub fn load_dir(dir: &Path) -> Result<Vec<Migration>, MigrateError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(MigrateError::Read {
                path: dir.to_path_buf(),
                source,
            })
        }
    };
    let mut migrations: Vec<Migration> = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| MigrateError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        let file_name = entry.file_name().to_string_lossy().into_owned();
        if file_name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            return Err(MigrateError::BadFileName {
                path,
                reason: "it is a directory".into(),
            });
        }
        let (version, name) =
            parse_file_name(&file_name).map_err(|reason| MigrateError::BadFileName {
                path: path.clone(),
                reason,
            })?;
        let bytes = fs::read(&path).map_err(|source| MigrateError::Read {
            path: path.clone(),
            source,
        })?;
        let checksum = sha256_hex(&bytes);
        let sql =
            String::from_utf8(bytes).map_err(|_| MigrateError::NotUtf8 { path: path.clone() })?;
        let statements = split(&sql);
        let migration = Migration {
            version,
            name,
            path,
            sql,
            checksum,
            statements,
        };
        migration.check_transaction_control()?;
        migrations.push(migration);
    }
    migrations.sort_by(|a, b| a.version.cmp(&b.version).then_with(|| a.path.cmp(&b.path)));
    for pair in migrations.windows(2) {
        if pair[0].version == pair[1].version {
            return Err(MigrateError::DuplicateVersion {
                version: pair[0].version.clone(),
                first: pair[0].path.clone(),
                second: pair[1].path.clone(),
            });
        }
    }
    Ok(migrations)
}

#[cfg(test)]
mod tests {
    use super::parse_file_name;

    #[test]
    fn file_names() {
        assert_eq!(
            parse_file_name("20250101120000_add_leads.sql").unwrap(),
            ("20250101120000".to_string(), "add_leads".to_string())
        );
        assert_eq!(
            parse_file_name("20250101120000_a_b-c.sql").unwrap().1,
            "a_b-c"
        );
        for bad in [
            "20250101120000_add_leads.SQL",
            "20250101120000add.sql",
            "2025010112000_short.sql",
            "20251301120000_month13.sql",
            "20250101120000_.sql",
            "20250101120000_has space.sql",
            "add_leads.sql",
            "README.md",
        ] {
            assert!(parse_file_name(bad).is_err(), "{bad} should be refused");
        }
    }
}
