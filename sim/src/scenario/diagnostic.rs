//! Problems in a scenario file, each with its file, line, column and key path.

use std::{fmt, ops::Range};

use serde::Serialize;

/// One problem found in a scenario file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// The file, as the user named it.
    pub file: String,
    /// 1-based line.
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

/// Turns byte offsets into line and column for one file's text.
#[derive(Debug)]
pub(crate) struct SourceMap<'a> {
    pub(crate) file: &'a str,
    pub(crate) text: &'a str,
}

impl SourceMap<'_> {
    pub(crate) fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
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

/// The closest of `candidates` to `word`, if close enough to be a likely typo.
pub(crate) fn suggest<'c>(
    word: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<String> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(distance, c)| *distance <= 2.max(c.len() / 4) && *distance < c.len())
        .min()
        .map(|(_, c)| format!("did you mean `{c}`?"))
}
