//! The schema diagram renders: every Mermaid block of `docs/schema.md` goes through the pinned
//! `mermaid` in headless Debian Chromium, and the SVG must show every table in its module's box
//! and every foreign key as a relation. A broken diagram fails, and `docs/schema.svg` must have
//! been rendered from the current source.

use sql::docs::{self, Module};
use sql::{Catalog, ConstraintKind};

fn catalog() -> Catalog {
    Catalog::from_releases(&sql::moha::releases()).expect("the model folds")
}

fn committed(path: &str) -> String {
    std::fs::read_to_string(xtask::paths::project_root().join(path))
        .unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// Every table is a node in its module's cluster, and there is one relation per foreign key.
fn assert_complete(svg: &str, catalog: &Catalog) {
    for module in Module::ALL {
        let id = module.id();
        assert!(
            svg.contains(&format!("class=\"cluster\" id=\"diagram-0-{id}\"")),
            "no box for module {}",
            module.title()
        );
    }
    for t in &catalog.tables {
        let module = docs::table_doc(&t.name)
            .expect("every table has a module")
            .module;
        let class = module.id();
        let node = format!("-entity-{}-", docs::entity(&t.name));
        let tag = svg
            .split("<g class=\"node ")
            .skip(1)
            .find(|g| g.split('>').next().unwrap_or("").contains(&node))
            .unwrap_or_else(|| panic!("{} is not drawn", t.name));
        assert!(
            tag.split('"')
                .next()
                .unwrap_or("")
                .split(' ')
                .any(|c| c == class),
            "{} is not styled as module {}",
            t.name,
            module.title()
        );
    }
    let foreign_keys = catalog
        .tables
        .iter()
        .flat_map(|t| &t.constraints)
        .filter(|c| matches!(c.kind, ConstraintKind::ForeignKey { .. }))
        .count();
    let relations = svg.matches("id=\"diagram-0-id_entity-").count();
    assert_eq!(relations, foreign_keys, "relations drawn vs foreign keys");
}

#[test]
fn schema_diagram_renders_with_every_table_and_relation() {
    let md = committed(sql::generated::SCHEMA_MD);
    let blocks = docs::mermaid_blocks(&md);
    assert!(!blocks.is_empty(), "docs/schema.md has no Mermaid diagram");
    let svgs = xtask::diagram::render(&blocks).unwrap_or_else(|e| panic!("{e:#}"));
    assert_complete(&svgs[0], &catalog());
}

#[test]
fn a_broken_diagram_fails() {
    let mut source = sql::generated::diagram_source().unwrap();
    source.push_str("  roles }}--{{ permissions : \"broken\"\n");
    let err = xtask::diagram::render(&[source])
        .expect_err("a diagram with a bad relation renders")
        .to_string();
    assert!(err.contains("diagram 0 does not render"), "{err}");
    assert!(err.contains("Parse error"), "{err}");
}

#[test]
fn committed_svg_is_rendered_from_the_current_diagram() {
    assert!(
        xtask::diagram::svg_is_fresh().unwrap(),
        "docs/schema.svg was rendered from an older diagram; run `cargo xtask gen diagram` and commit"
    );
    assert_complete(&committed(sql::generated::SCHEMA_SVG), &catalog());
}
