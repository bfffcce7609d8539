//! Text fields and their rules: length in Unicode scalar values, blankness by Unicode
//! whitespace, and the control-character rule of docs/api.md ("Records").

/// What a text field allows.
struct TextRule {
    max_chars: usize,
    /// Whether an empty or whitespace-only value is accepted.
    allow_blank: bool,
    /// Whether `\n`, `\r` and `\t` are accepted (other Cc characters never are).
    allow_line_breaks: bool,
}

impl TextRule {
    /// Checks `raw` as sent for control characters and `value` (trimmed where the field is
    /// stored trimmed) for blankness and length.
    fn check(&self, raw: &str, value: &str) -> Result<(), String> {
        if !self.allow_blank && value.chars().all(char::is_whitespace) {
            return Err("must not be blank".into());
        }
        if value.chars().count() > self.max_chars {
            return Err(format!("must be at most {} characters", self.max_chars));
        }
        if raw
            .chars()
            .any(|c| forbidden_control(c, self.allow_line_breaks))
        {
            return Err("must not contain control characters".into());
        }
        Ok(())
    }
}

/// Whether a field refuses `c`: every control character, except `\n`, `\r` and `\t` in
/// fields that allow line breaks.
fn forbidden_control(c: char, allow_line_breaks: bool) -> bool {
    c.is_control() && !(allow_line_breaks && matches!(c, '\n' | '\r' | '\t'))
}

/// Most characters a message body may have.
pub const MESSAGE_MAX_CHARS: usize = 32_000;

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, $rule:expr, trim: $trim:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            /// Checks the rule; on failure returns the message for the field.
            pub fn parse(raw: String) -> Result<Self, String> {
                const RULE: TextRule = $rule;
                let value = if $trim { raw.trim() } else { raw.as_str() };
                RULE.check(&raw, value)?;
                Ok(Self(value.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_inner(self) -> String {
                self.0
            }
        }

        /// The checked text, for code written for any of these types (say, a store binding a
        /// field that may be cleared).
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

text_type!(
    /// A chat title: 1 to 200 characters after trimming, no control characters; stored trimmed.
    Title,
    TextRule { max_chars: 200, allow_blank: false, allow_line_breaks: false },
    trim: true
);
text_type!(
    /// A chat description: at most 1000 characters; line breaks and tabs allowed; stored as sent.
    Description,
    TextRule { max_chars: 1000, allow_blank: true, allow_line_breaks: true },
    trim: false
);
text_type!(
    /// A user identifier: 1 to 200 characters, not blank, no control characters.
    UserId,
    TextRule { max_chars: 200, allow_blank: false, allow_line_breaks: false },
    trim: false
);
text_type!(
    /// A message body: not blank, at most 32,000 characters; line breaks and tabs allowed.
    MessageContent,
    TextRule { max_chars: MESSAGE_MAX_CHARS, allow_blank: false, allow_line_breaks: true },
    trim: false
);

impl MessageContent {
    /// A piece of generated text as a message may hold it: the control characters a message
    /// refuses are dropped (line breaks and tabs stay), so streamed pieces can be passed on
    /// as they come and still add up to exactly what is stored.
    pub fn clean_piece(piece: &str) -> std::borrow::Cow<'_, str> {
        if piece.chars().any(|c| forbidden_control(c, true)) {
            piece
                .chars()
                .filter(|c| !forbidden_control(*c, true))
                .collect()
        } else {
            std::borrow::Cow::Borrowed(piece)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_counts_characters_not_bytes_after_trimming() {
        let two_hundred = "é".repeat(200);
        assert_eq!(
            Title::parse(format!("  {two_hundred} ")).unwrap().as_str(),
            two_hundred
        );
        assert_eq!(
            Title::parse("é".repeat(201)).unwrap_err(),
            "must be at most 200 characters"
        );
    }

    #[test]
    fn title_rejects_blank_and_any_control_character() {
        assert_eq!(
            Title::parse(" \u{3000}\t".into()).unwrap_err(),
            "must not be blank"
        );
        assert_eq!(
            Title::parse(String::new()).unwrap_err(),
            "must not be blank"
        );
        for bad in ["a\nb", "a\u{0}b", "a\u{7f}", "a\u{9f}"] {
            assert_eq!(
                Title::parse(bad.into()).unwrap_err(),
                "must not contain control characters",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn description_allows_line_breaks_and_blank_but_not_other_controls() {
        assert_eq!(
            Description::parse("a\r\n\tb".into()).unwrap().as_str(),
            "a\r\n\tb"
        );
        assert_eq!(Description::parse(String::new()).unwrap().as_str(), "");
        assert_eq!(Description::parse("  ".into()).unwrap().as_str(), "  ");
        assert!(Description::parse("a\u{1b}b".into()).is_err());
        assert!(Description::parse("x".repeat(1000)).is_ok());
        assert_eq!(
            Description::parse("x".repeat(1001)).unwrap_err(),
            "must be at most 1000 characters"
        );
    }

    #[test]
    fn user_id_is_kept_as_sent_and_must_not_be_blank() {
        assert_eq!(UserId::parse(" u1 ".into()).unwrap().as_str(), " u1 ");
        assert_eq!(UserId::parse("  ".into()).unwrap_err(), "must not be blank");
        assert!(UserId::parse("u\tx".into()).is_err());
        assert!(UserId::parse("u".repeat(201)).is_err());
    }

    #[test]
    fn content_limits_and_line_breaks() {
        assert!(MessageContent::parse("hi\nthere".into()).is_ok());
        assert_eq!(
            MessageContent::parse("\n ".into()).unwrap_err(),
            "must not be blank"
        );
        assert!(MessageContent::parse("🙂".repeat(32_000)).is_ok());
        assert!(MessageContent::parse("🙂".repeat(32_001)).is_err());
        assert!(MessageContent::parse("a\u{8}".into()).is_err());
    }

    #[test]
    fn cleaned_pieces_keep_line_breaks_and_drop_other_controls() {
        assert_eq!(MessageContent::clean_piece("a\r\n\tb"), "a\r\n\tb");
        assert_eq!(MessageContent::clean_piece("a\u{0}b\u{1b}[0m"), "ab[0m");
    }
}
