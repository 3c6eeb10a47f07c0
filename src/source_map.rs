//! Maps byte offsets inside a YAML scalar's *value* back to byte offsets in
//! the rule file, so an error at column 12 of an expression points at the
//! right `line:col` even in a quoted, literal (`|`) or folded (`>`) scalar.
//!
//! The value's characters appear in the file in order, possibly separated by
//! quotes, indentation, line breaks or escape sequences; a greedy alignment
//! of value characters to file characters recovers each one's position.

use crate::span::Span;

#[derive(Debug, Clone)]
pub struct ScalarMap {
    /// `offsets[i]` is the file offset of value byte `i`; one extra entry
    /// for the end of the value.
    offsets: Vec<usize>,
}

impl ScalarMap {
    /// Aligns `value` with the file text starting at `start` (the scalar's
    /// position, as the YAML parser reports it).
    pub fn new(file_text: &str, start: usize, value: &str) -> ScalarMap {
        ScalarMap::in_span(file_text, Span::new(start, file_text.len()), value)
    }

    /// [`ScalarMap::new`], aligning only within the scalar's own `span`: a
    /// character the file writes as an escape (`"\n"` in a double-quoted
    /// scalar) has no equal byte in it, and searching past its end aligned
    /// the rest of the value with the lines after the scalar.
    pub fn in_span(file_text: &str, span: Span, value: &str) -> ScalarMap {
        let start = span.start;
        let src = &file_text.as_bytes()[..span.end.clamp(start.min(file_text.len()), file_text.len())];
        let mut offsets = Vec::with_capacity(value.len() + 1);
        let mut pos = start.min(src.len());
        // Skip a block scalar header (`|`, `>-`, ...) up to the line end.
        if matches!(src.get(pos), Some(b'|' | b'>')) {
            while pos < src.len() && src[pos] != b'\n' {
                pos += 1;
            }
        }
        let limit = |pos: usize| (pos + 512).min(src.len());
        let mut last = pos;
        for (i, ch) in value.char_indices() {
            let mut buf = [0u8; 4];
            let bytes = ch.encode_utf8(&mut buf).as_bytes();
            let found = src[pos..limit(pos)].windows(bytes.len()).position(|w| w == bytes).map(|p| pos + p);
            let at = match found {
                // A folded line break stands for a space the file doesn't have.
                Some(p) if ch == ' ' && src[pos..p].contains(&b'\n') => pos,
                Some(p) => p,
                None => pos,
            };
            for k in 0..bytes.len() {
                debug_assert!(offsets.len() == i + k);
                offsets.push((at + k).min(src.len()));
            }
            if found.is_some() && at >= pos {
                pos = (at + bytes.len()).min(src.len());
            }
            last = pos;
        }
        offsets.push(last);
        ScalarMap { offsets }
    }

    /// A map for text that stands verbatim in the file at `start`.
    pub fn verbatim(start: usize, len: usize) -> ScalarMap {
        ScalarMap { offsets: (start..=start + len).collect() }
    }

    pub fn offset(&self, value_offset: usize) -> usize {
        self.offsets[value_offset.min(self.offsets.len() - 1)]
    }

    pub fn span(&self, start: usize, end: usize) -> Span {
        let s = self.offset(start);
        let e = if end > start { self.offset(end - 1) + 1 } else { s };
        Span::new(s, e.max(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(file: &str, start_marker: &str, value: &str, probe: &str) {
        let start = file.find(start_marker).unwrap();
        let map = ScalarMap::new(file, start, value);
        let in_value = value.find(probe).unwrap();
        let at = map.offset(in_value);
        assert_eq!(&file[at..at + probe.len()], probe, "value {value:?}");
    }

    #[test]
    fn plain_and_quoted() {
        check("a: x == \"y\" and IPAdress\n", "x ==", "x == \"y\" and IPAdress", "IPAdress");
        check("a: 'it''s IPAdress'\n", "'it", "it's IPAdress", "IPAdress");
        check("a: \"tab\\t IPAdress\"\n", "\"tab", "tab\t IPAdress", "IPAdress");
    }

    #[test]
    fn an_escaped_line_break_stays_inside_its_scalar() {
        let file = "condition: \"selection\\nand )\"\nlevel: high\n";
        let start = file.find('"').unwrap();
        let end = file.find("\nlevel").unwrap();
        let map = ScalarMap::in_span(file, Span::new(start, end), "selection\nand )");
        let paren = map.offset("selection\nand )".find(')').unwrap());
        assert_eq!(&file[paren..paren + 1], ")", "the `)` of the condition, not a byte after it");
        assert!(map.offset(100) <= end);
    }

    #[test]
    fn literal_and_folded_blocks() {
        let file = "m: |\n  a == b\n    and IPAdress > 3\nz: 1\n";
        check(file, "|", "a == b\n  and IPAdress > 3\n", "IPAdress");
        let file = "m: >-\n  a == b\n  and IPAdress > 3\nz: 1\n";
        check(file, ">-", "a == b and IPAdress > 3", "IPAdress");
        check(file, ">-", "a == b and IPAdress > 3", "and");
    }
}
