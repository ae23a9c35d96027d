//! Removing contact details from free text before it leaves for a model (generate-ai-insights'
//! samples, assign-leads' notes): email addresses and phone numbers become placeholders.

/// Replaces emails with `[email]` and phone numbers (7+ digits, with spaces, dots, dashes,
/// brackets or a leading +) with `[phone]`.
pub fn scrub(text: &str) -> String {
    let words: Vec<String> = text
        .split(' ')
        .map(|w| {
            let core = w.trim_matches(|c: char| !c.is_alphanumeric());
            if core.contains('@') && core.split('@').nth(1).is_some_and(|d| d.contains('.')) {
                w.replace(core, "[email]")
            } else {
                w.to_string()
            }
        })
        .collect();
    scrub_phones(&words.join(" "))
}

fn scrub_phones(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let starts = chars[i].is_ascii_digit()
            || (chars[i] == '+' || chars[i] == '(')
                && chars
                    .get(i + 1)
                    .is_some_and(|c| c.is_ascii_digit() || *c == '(');
        if starts {
            // Extend over digits and separators; count digits.
            let mut j = i;
            let mut digits = 0;
            let mut end = i;
            while j < chars.len() && (chars[j].is_ascii_digit() || " -.()+".contains(chars[j])) {
                if chars[j].is_ascii_digit() {
                    digits += 1;
                    end = j + 1;
                }
                j += 1;
            }
            if digits >= 7 {
                out.push_str("[phone]");
                i = end;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_and_phones_are_replaced() {
        assert_eq!(
            scrub("write to ana.m@studio.co.uk, thanks"),
            "write to [email], thanks"
        );
        assert_eq!(scrub("call +1 (555) 010-4477 today"), "call [phone] today");
        assert_eq!(scrub("ring 020 7946 0958."), "ring [phone].");
    }

    #[test]
    fn ordinary_numbers_and_text_survive() {
        assert_eq!(
            scrub("3 rooms, 45 m2, budget 12000"),
            "3 rooms, 45 m2, budget 12000"
        );
        assert_eq!(scrub("meet @ 5pm"), "meet @ 5pm");
    }
}
