//! Embeds `tables/*.yml` and `rules/**/*.yml` into the binary, so the
//! installed `sigcorr` runs the shipped rules anywhere, the rules'
//! `*.tests.yml` into a separate `TESTS` array for `sigcorr test`, and the
//! `let` lists beside them (`rules/**/*.txt` and `*.json`) into `LOOKUPS`.

use std::path::{Path, PathBuf};
use std::{env, fs};

/// Which files an array holds.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Yaml,
    Tests,
    Lookup,
}

fn kind(path: &Path) -> Option<Kind> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("yml" | "yaml") if path.to_string_lossy().ends_with(".tests.yml") => Some(Kind::Tests),
        Some("yml" | "yaml") => Some(Kind::Yaml),
        Some("txt" | "json") => Some(Kind::Lookup),
        _ => None,
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>, want: Kind) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(&path, out, want);
        } else if kind(&path) == Some(want) {
            out.push(path);
        }
    }
}

fn array(name: &str, root: &Path, dir: &str, want: Kind) -> String {
    println!("cargo:rerun-if-changed={dir}");
    let mut files = Vec::new();
    collect(&root.join(dir), &mut files, want);
    let mut s = format!("pub const {name}: &[(&str, &str)] = &[\n");
    for f in files {
        println!("cargo:rerun-if-changed={}", f.display());
        let rel = f.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
        s += &format!("    ({rel:?}, include_str!({:?})),\n", f.display().to_string());
    }
    s + "];\n"
}

fn main() {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("builtin.rs");
    let code = array("TABLES", &root, "tables", Kind::Yaml)
        + &array("RULES", &root, "rules", Kind::Yaml)
        + &array("TESTS", &root, "rules", Kind::Tests)
        + &array("LOOKUPS", &root, "rules", Kind::Lookup);
    fs::write(out, code).unwrap();
}
