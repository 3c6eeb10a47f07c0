//! The expression parser alone (`sigcorr::parser::parse_expr`): any text as
//! one filter / join / mismatch / output expression, as it stands verbatim
//! in a file.
//!
//! Asserts: no panic (pest's call limit and the nesting limit bound hostile
//! input such as deep parentheses); every span of the parsed tree, and of
//! the error, lies inside the text; the error renders.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sigcorr::parser::{ExprSource, parse_expr};
use sigcorr::source_map::ScalarMap;
use sigcorr::span::SourceFile;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let file = SourceFile::new("fuzz.kql", text.to_string());
    let map = ScalarMap::verbatim(0, text.len());
    let inside = |start: usize, end: usize| start <= end && end <= text.len();
    match parse_expr(text, &ExprSource { file: &file, map: &map }) {
        Ok(expr) => expr.walk(&mut |e| {
            assert!(inside(e.span.start, e.span.end), "span {:?} outside {} bytes", e.span, text.len());
        }),
        Err(d) => {
            if let Some(span) = d.span {
                assert!(inside(span.start, span.end), "error span {span:?} outside {} bytes", text.len());
            }
            let _ = d.render();
        }
    }
});
