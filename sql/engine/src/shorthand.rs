//! Shorthands for writing a schema: common columns, enums and indexes.

use crate::model::*;

pub fn uuid_pk() -> Column {
    Column::new("id", SqlType::Uuid)
        .not_null()
        .default(Expr::Sql("gen_random_uuid()"))
}

pub fn created_at() -> Column {
    Column::new("created_at", SqlType::Timestamptz)
        .not_null()
        .default(Expr::Sql("now()"))
}

pub fn updated_at() -> Column {
    Column::new("updated_at", SqlType::Timestamptz)
        .not_null()
        .default(Expr::Sql("now()"))
}

pub fn text(name: &str) -> Column {
    Column::new(name, SqlType::Text)
}

pub fn uuid(name: &str) -> Column {
    Column::new(name, SqlType::Uuid)
}

pub fn ts(name: &str) -> Column {
    Column::new(name, SqlType::Timestamptz)
}

pub fn enum_type(name: &str) -> SqlType {
    SqlType::Enum(public(name))
}

/// `'<value>'::public.<enum>`, as a default.
pub fn enum_value(name: &str, value: &str) -> Expr {
    Expr::text(value).cast(enum_type(name))
}

pub fn create_enum(name: &str, values: &[&str]) -> Change {
    Change::CreateEnum(Enum {
        name: public(name),
        values: values.iter().map(|v| v.to_string()).collect(),
    })
}

pub fn index(table: &Name, columns: &[&str]) -> Change {
    Change::CreateIndex(Index::on(table, columns))
}
