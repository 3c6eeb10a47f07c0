//! Byte spans into a source file, and the one place that turns them into
//! `line:col` for people.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A half-open byte range `[start, end)` into one source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    pub fn at(offset: usize) -> Self {
        Span { start: offset, end: offset }
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

/// A value with the span of its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Span) -> Self {
        Spanned { value, span }
    }
}

/// A file's text with its line starts, shared by every diagnostic that
/// points into it.
#[derive(Debug)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
    line_starts: Vec<usize>,
    /// Read from bytes that are not UTF-8: the offset of the first byte
    /// that is not (`text` has U+FFFD from there on where bytes were bad).
    not_utf8: Option<usize>,
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: String) -> Arc<Self> {
        // A line ends at `\n`, `\r\n`, or a lone `\r` (YAML reads all three).
        let b = text.as_bytes();
        let line_starts = std::iter::once(0)
            .chain(
                memchr::memchr2_iter(b'\n', b'\r', b)
                    .filter(|&i| b[i] == b'\n' || b.get(i + 1) != Some(&b'\n'))
                    .map(|i| i + 1),
            )
            .collect();
        Arc::new(SourceFile { path: path.into(), text, line_starts, not_utf8: None })
    }

    /// A file read as bytes: text when they are UTF-8; otherwise the text
    /// with each bad sequence replaced, and the offset of the first
    /// ([`SourceFile::not_utf8`]), so that the file can be reported at
    /// that line and column rather than refused whole.
    pub fn from_bytes(path: impl Into<PathBuf>, bytes: Vec<u8>) -> Arc<Self> {
        match String::from_utf8(bytes) {
            Ok(text) => SourceFile::new(path, text),
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
                let mut file = SourceFile::new(path, text);
                Arc::get_mut(&mut file).expect("just made").not_utf8 = Some(at);
                file
            }
        }
    }

    /// The offset of the first byte that was not UTF-8, if any.
    pub fn not_utf8(&self) -> Option<usize> {
        self.not_utf8
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts[line];
        let col = self.text[start..floor_char_boundary(&self.text, offset)].chars().count();
        (line + 1, col + 1)
    }

    /// Byte offset of a 1-based line and column (in characters).
    pub fn offset_of(&self, line: usize, col: usize) -> usize {
        let Some(&start) = self.line_starts.get(line.saturating_sub(1)) else {
            return self.text.len();
        };
        let rest = &self.text[start..];
        let line_end = rest.find(['\n', '\r']).unwrap_or(rest.len());
        rest[..line_end].char_indices().nth(col.saturating_sub(1)).map_or(start + line_end, |(i, _)| start + i)
    }

    /// The text of a 1-based line, without its line ending.
    pub fn line_text(&self, line: usize) -> &str {
        let Some(&start) = self.line_starts.get(line.saturating_sub(1)) else {
            return "";
        };
        let end = self.line_starts.get(line).map_or(self.text.len(), |&e| e - 1);
        self.text[start..end.max(start)].trim_end_matches(['\r', '\n'])
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_not_bytes() {
        let f = SourceFile::new("x.yml", "a: é\nbb: c\r\n\nlast".into());
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(3), (1, 4));
        assert_eq!(f.line_col(6), (2, 1));
        assert_eq!(f.line_col(10), (2, 5));
        assert_eq!(f.line_col(14), (4, 1));
        assert_eq!(f.line_text(2), "bb: c");
        assert_eq!(f.line_text(3), "");
        assert_eq!(f.line_text(4), "last");
    }

    #[test]
    fn offset_of_inverts_line_col() {
        let f = SourceFile::new("x.yml", "a: é\nbb: c\n".into());
        for off in [0, 1, 3, 6, 9] {
            let (l, c) = f.line_col(off);
            assert_eq!(f.offset_of(l, c), off);
        }
    }
}
