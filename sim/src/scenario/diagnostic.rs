//! Problems in a scenario file, each with its file, line, column and key path.

use std::{fmt, ops::Range};

use serde::Serialize;

/// One problem found in a scenario file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// The file, as the user named it.
    pub file: String,
    /// 1-based line (0 when the file could not be read at all).
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// Where in the document: `step[3].spend.signers`; empty for the document itself.
    pub key_path: String,
    /// What is wrong, in lower case.
    pub message: String,
    /// A suggestion (`did you mean ...`), when there is one.
    pub help: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if !self.key_path.is_empty() {
            write!(f, "{}: ", self.key_path)?;
        }
        f.write_str(&self.message)?;
        if let Some(help) = &self.help {
            write!(f, " ({help})")?;
        }
        Ok(())
    }
}

/// Turns byte offsets into line and column for one file's text. Line starts are indexed once,
/// so each lookup costs a binary search (validation stays linear in the file's size).
#[derive(Debug)]
pub(crate) struct SourceMap<'a> {
    pub(crate) file: &'a str,
    pub(crate) text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> SourceMap<'a> {
    pub(crate) fn new(file: &'a str, text: &'a str) -> Self {
        let line_starts =
            std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        Self { file, text, line_starts }
    }

    pub(crate) fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let start = self.line_starts[line - 1];
        let column = self.text.get(start..offset).map_or(0, |s| s.chars().count()) + 1;
        (line, column)
    }

    pub(crate) fn diagnostic(
        &self,
        span: Option<Range<usize>>,
        key_path: impl Into<String>,
        message: impl Into<String>,
    ) -> Diagnostic {
        let (line, column) = self.line_col(span.map_or(0, |s| s.start));
        Diagnostic {
            file: self.file.to_owned(),
            line,
            column,
            key_path: key_path.into(),
            message: message.into(),
            help: None,
        }
    }
}

/// Most candidates a suggestion is looked for among (a typo in a huge file stays cheap).
const MAX_CANDIDATES: usize = 2_000;

/// The closest of `candidates` to `word`, if close enough to be a likely typo (and not the
/// word itself).
pub(crate) fn suggest<'c>(
    word: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<String> {
    if word.len() > 64 {
        return None;
    }
    candidates
        .into_iter()
        .take(MAX_CANDIDATES)
        .filter(|c| *c != word)
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(distance, c)| *distance <= 2.max(c.len() / 4) && *distance < c.len())
        .min()
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns() {
        let map = SourceMap::new("f", "ab\ncdé\n\nx");
        assert_eq!(map.line_col(0), (1, 1));
        assert_eq!(map.line_col(1), (1, 2));
        assert_eq!(map.line_col(3), (2, 1));
        assert_eq!(map.line_col(7), (2, 4), "columns count characters");
        assert_eq!(map.line_col(8), (3, 1));
        assert_eq!(map.line_col(9), (4, 1));
        assert_eq!(map.line_col(99), (4, 2));
    }

    #[test]
    fn suggestions_skip_the_word_itself() {
        assert_eq!(suggest("carol", ["carol", "caro"]).as_deref(), Some("did you mean `caro`?"));
        assert_eq!(
            suggest("thresold", ["threshold"]).as_deref(),
            Some("did you mean `threshold`?")
        );
        assert_eq!(suggest("zzz", ["threshold"]), None);
    }
}
