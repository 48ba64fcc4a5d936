//! Text that comes in from outside: which characters it may hold and how its
//! length is counted. Every request's text fields pass through [`check`].

/// What kind of text a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// A name, a number, a code, an address line: one line, no control characters.
    Line,
    /// Free text a person writes (a comment, a note, a reason): line breaks and
    /// tabs are part of it, other control characters are not.
    Prose,
}

/// Why a text is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TextProblem {
    #[error("must not be empty")]
    Empty,
    #[error("at most {max} characters")]
    TooLong { max: usize },
    /// U+0000 above all: PostgreSQL cannot store it in text or JSON. The other C0
    /// and C1 controls (and DEL) are refused too: no form or platform sends them on
    /// purpose, they corrupt CSV exports, logs and terminals, and a stored one is
    /// served back to every page and webhook consumer.
    #[error("contains the control character U+{code:04X}")]
    ControlCharacter { code: u32 },
}

/// Whether `c` is refused in text of `form`: every Unicode control character
/// (C0, DEL, C1), except tab, line feed and carriage return in prose.
pub fn refused(c: char, form: Form) -> bool {
    c.is_control() && !(form == Form::Prose && matches!(c, '\t' | '\n' | '\r'))
}

/// Checks `s` against `form` and a length of at most `max` characters (Unicode
/// scalar values, as JSON Schema's `maxLength` counts them, not bytes).
pub fn check(s: &str, form: Form, max: usize) -> Result<(), TextProblem> {
    if let Some(c) = s.chars().find(|c| refused(*c, form)) {
        return Err(TextProblem::ControlCharacter { code: u32::from(c) });
    }
    // Counting stops one past the bound: a huge text costs no more than a long one.
    if s.chars().take(max.saturating_add(1)).count() > max {
        return Err(TextProblem::TooLong { max });
    }
    Ok(())
}

/// [`check`], and blank text (empty or only white space) is refused too.
pub fn check_required(s: &str, form: Form, max: usize) -> Result<(), TextProblem> {
    if s.trim().is_empty() {
        return Err(TextProblem::Empty);
    }
    check(s, form, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_refused_where_they_do_not_belong() {
        for c in [
            '\u{0}', '\u{1}', '\u{1b}', '\u{7f}', '\u{80}', '\u{85}', '\u{9f}',
        ] {
            let s = format!("a{c}b");
            assert_eq!(
                check(&s, Form::Prose, 10),
                Err(TextProblem::ControlCharacter { code: u32::from(c) })
            );
            assert!(check(&s, Form::Line, 10).is_err());
        }
        for c in ['\t', '\n', '\r'] {
            let s = format!("a{c}b");
            assert_eq!(check(&s, Form::Prose, 10), Ok(()));
            assert!(check(&s, Form::Line, 10).is_err());
        }
        // Not controls: letters of every script, emoji, the line separator.
        assert_eq!(check("Łódź ñ 東京 🙂 \u{2028}", Form::Line, 20), Ok(()));
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        assert_eq!(check("żółć", Form::Line, 4), Ok(()));
        assert_eq!(
            check("żółćx", Form::Line, 4),
            Err(TextProblem::TooLong { max: 4 })
        );
        assert_eq!(check_required("  ", Form::Line, 4), Err(TextProblem::Empty));
        assert_eq!(check("", Form::Line, 4), Ok(()));
    }
}
