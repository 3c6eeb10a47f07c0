//! Embeds `tables/*.yml` and `rules/**/*.yml` into the binary, so the
//! installed `sigcorr` runs the shipped rules anywhere, and the rules'
//! `*.tests.yml` into a separate `TESTS` array for `sigcorr test`.

use std::path::{Path, PathBuf};
use std::{env, fs};

fn collect(dir: &Path, out: &mut Vec<PathBuf>, tests: bool) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(&path, out, tests);
        } else if matches!(path.extension().and_then(|e| e.to_str()), Some("yml" | "yaml"))
            && path.to_string_lossy().ends_with(".tests.yml") == tests
        {
            out.push(path);
        }
    }
}

fn array(name: &str, root: &Path, dir: &str, tests: bool) -> String {
    println!("cargo:rerun-if-changed={dir}");
    let mut files = Vec::new();
    collect(&root.join(dir), &mut files, tests);
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
    let code = array("TABLES", &root, "tables", false)
        + &array("RULES", &root, "rules", false)
        + &array("TESTS", &root, "rules", true);
    fs::write(out, code).unwrap();
}
