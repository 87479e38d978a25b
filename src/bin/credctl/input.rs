//! Values credctl takes beyond clap's parsing: secrets read from stdin
//! (so they stay out of argv and shell history) and fixed durations.

use std::io::Read;

use credd::lifecycle::Span;

/// Reads stdin to the end, without the final line break.
pub(crate) fn read_stdin(what: &str) -> Result<String, String> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read the {what} from stdin: {e}"))?;
    Ok(text.trim_end_matches(['\r', '\n']).to_string())
}

/// Reads one value a line from stdin, in the order of `names`: secrets
/// stay out of argv (visible in `ps`) and shell history. Nothing is read
/// when no value is wanted.
pub(crate) fn read_stdin_lines(names: &[&str]) -> Result<Vec<String>, String> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    stdin_lines(&read_stdin(&names.join(" and "))?, names)
}

/// Splits `text` into exactly one trimmed line per name.
fn stdin_lines(text: &str, names: &[&str]) -> Result<Vec<String>, String> {
    let lines: Vec<String> = text.lines().map(|l| l.trim().to_string()).collect();
    if lines.len() != names.len() {
        return Err(format!(
            "expected {} on stdin, one a line; got {} line(s)",
            names.join(" and "),
            lines.len()
        ));
    }
    Ok(lines)
}

pub(crate) fn duration_arg(flag: &str, text: &str) -> Result<prost_types::Duration, String> {
    match text.parse::<Span>().map_err(|e| format!("--{flag}: {e}"))? {
        Span::Fixed(d) => Ok(prost_types::Duration {
            seconds: d.num_seconds(),
            nanos: 0,
        }),
        Span::Months(_) => Err(format!(
            "--{flag}: give a fixed length such as 60d; months are only for the server's policy"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::{duration_arg, stdin_lines};

    #[test]
    fn stdin_lines_wants_exactly_one_line_per_value() {
        let names = ["the developer key", "the customer key"];
        assert_eq!(
            stdin_lines("credd_live_api_x\r\n  credd_live_cust_y \n", &names).unwrap(),
            ["credd_live_api_x", "credd_live_cust_y"]
        );
        let err = stdin_lines("credd_live_api_x\n", &names).unwrap_err();
        assert!(
            err.contains("the developer key and the customer key") && err.contains("got 1"),
            "{err}"
        );
        assert!(stdin_lines("a\nb\nc\n", &names).is_err());
        assert!(stdin_lines("a\n\nb\n", &names).is_err());
    }

    #[test]
    fn durations_are_fixed_lengths() {
        assert_eq!(
            duration_arg("lifetime", "90d").unwrap().seconds,
            90 * 86_400
        );
        assert_eq!(duration_arg("lifetime", "12h").unwrap().seconds, 12 * 3_600);
        let err = duration_arg("lifetime", "2 months").unwrap_err();
        assert!(err.starts_with("--lifetime:"), "{err}");
        assert!(duration_arg("lifetime", "soon").is_err());
    }
}
