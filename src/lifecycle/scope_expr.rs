//! Scope expressions: a query over the scopes a credential holds, such as
//! `orders:read AND (refunds:write OR admin)`, parsed once into a
//! [`ScopeExpr`] and evaluated against each credential's (or grant's)
//! scopes.
//!
//! Syntax:
//!
//! ```text
//! expr   = term   { "OR"  term }
//! term   = factor { "AND" factor }
//! factor = scope | "(" expr ")"
//! ```
//!
//! - AND binds tighter than OR: `a OR b AND c` is `a OR (b AND c)`.
//! - `AND` and `OR` are the operators, in capitals only; any other word is a
//!   scope (so a scope named exactly `AND` or `OR` cannot be asked for).
//! - A scope is what a credential's scope may be (1 to 128 visible ASCII
//!   characters) except `(` and `)`, which always stand for themselves.
//! - ASCII whitespace separates words; parentheses need none around them.
//! - At most [`MAX_LEN`] bytes and [`MAX_DEPTH`] nested parentheses, so a
//!   hostile expression costs little and cannot exhaust the stack; there is
//!   no negation, so an expression never holds for a credential without
//!   scopes.
//!
//! A syntax error names the 1-based character column where it was found,
//! what was expected there and what was found.

use std::fmt;

/// Longest expression, in bytes.
pub const MAX_LEN: usize = 1024;
/// Deepest nesting of parentheses.
pub const MAX_DEPTH: usize = 32;
/// Longest scope, in characters (as for a credential's scopes).
pub const MAX_SCOPE: usize = 128;

/// A parsed scope expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeExpr {
    /// Held when the scope is.
    Scope(String),
    /// Held when every part is (two or more parts).
    All(Vec<ScopeExpr>),
    /// Held when any part is (two or more parts).
    Any(Vec<ScopeExpr>),
}

/// Whether `held` satisfies `expr`.
pub fn evaluate(expr: &ScopeExpr, held: &[String]) -> bool {
    match expr {
        ScopeExpr::Scope(scope) => held.contains(scope),
        ScopeExpr::All(parts) => parts.iter().all(|p| evaluate(p, held)),
        ScopeExpr::Any(parts) => parts.iter().any(|p| evaluate(p, held)),
    }
}

/// Whether `held` has every scope of `required` and satisfies `query` when
/// there is one: a Verify's scope rule.
pub fn satisfied(required: &[String], query: Option<&ScopeExpr>, held: &[String]) -> bool {
    required.iter().all(|s| held.contains(s)) && query.is_none_or(|q| evaluate(q, held))
}

impl ScopeExpr {
    /// The expression that holds when every one of `parts` does; None for
    /// no parts.
    pub fn all_of(mut parts: Vec<ScopeExpr>) -> Option<ScopeExpr> {
        match parts.len() {
            0 | 1 => parts.pop(),
            _ => Some(ScopeExpr::All(parts)),
        }
    }
}

/// Writes the expression back, with parentheses only where needed.
impl fmt::Display for ScopeExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (parts, op) = match self {
            ScopeExpr::Scope(scope) => return f.write_str(scope),
            ScopeExpr::All(parts) => (parts, " AND "),
            ScopeExpr::Any(parts) => (parts, " OR "),
        };
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                f.write_str(op)?;
            }
            if matches!((self, part), (ScopeExpr::All(_), ScopeExpr::Any(_))) {
                write!(f, "({part})")?;
            } else {
                write!(f, "{part}")?;
            }
        }
        Ok(())
    }
}

/// A syntax error: where, what was expected there, and what was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based character column.
    pub column: usize,
    /// What would have been accepted there.
    pub expected: String,
    /// What was there instead.
    pub found: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "at column {}: expected {}, found {}",
            self.column, self.expected, self.found
        )
    }
}

impl std::error::Error for ParseError {}

/// Parses a scope expression (see the module doc for the syntax).
///
/// # Errors
/// The first syntax error, with its column.
pub fn parse(text: &str) -> Result<ScopeExpr, ParseError> {
    if text.len() > MAX_LEN {
        let column = text
            .char_indices()
            .position(|(i, c)| i + c.len_utf8() > MAX_LEN)
            .unwrap_or(0)
            + 1;
        return Err(error(
            column,
            format!("the end (at most {MAX_LEN} bytes)"),
            format!("{} bytes", text.len()),
        ));
    }
    let tokens = lex(text)?;
    let mut parser = Parser {
        tokens: &tokens,
        at: 0,
        open: Vec::new(),
    };
    let expr = parser.expr()?;
    let next = parser.peek();
    match next.kind {
        Kind::End => Ok(expr),
        Kind::Close => Err(error(
            next.column,
            "AND, OR or the end".to_string(),
            "')' without a matching '('".to_string(),
        )),
        _ => Err(parser.unexpected("AND, OR or the end")),
    }
}

fn error(column: usize, expected: String, found: String) -> ParseError {
    ParseError {
        column,
        expected,
        found,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind<'a> {
    Scope(&'a str),
    And,
    Or,
    Open,
    Close,
    End,
}

#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    kind: Kind<'a>,
    column: usize,
}

impl Token<'_> {
    fn describe(&self) -> String {
        match self.kind {
            Kind::Scope(word) if is_operator_like(word) => {
                format!("the scope '{word}' (operators are written AND and OR)")
            }
            Kind::Scope(word) => format!("the scope '{word}'"),
            Kind::And => "AND".to_string(),
            Kind::Or => "OR".to_string(),
            Kind::Open => "'('".to_string(),
            Kind::Close => "')'".to_string(),
            Kind::End => "the end".to_string(),
        }
    }
}

fn is_operator_like(word: &str) -> bool {
    word.eq_ignore_ascii_case("and") || word.eq_ignore_ascii_case("or")
}

/// Splits `text` into words and parentheses, each with its column, ending
/// with [`Kind::End`].
fn lex(text: &str) -> Result<Vec<Token<'_>>, ParseError> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().enumerate().peekable();
    while let Some((n, (start, c))) = chars.next() {
        let column = n + 1;
        let kind = match c {
            c if c.is_ascii_whitespace() => continue,
            '(' => Kind::Open,
            ')' => Kind::Close,
            c if is_scope_char(c) => {
                let mut end = start + 1;
                while let Some(&(_, (i, c))) = chars.peek() {
                    if !is_scope_char(c) {
                        break;
                    }
                    end = i + 1;
                    chars.next();
                }
                word(&text[start..end], column)?
            }
            c => {
                return Err(error(
                    column,
                    "a scope, AND, OR, '(' or ')'".to_string(),
                    format!("the character {c:?}"),
                ));
            }
        };
        tokens.push(Token { kind, column });
    }
    tokens.push(Token {
        kind: Kind::End,
        column: text.chars().count() + 1,
    });
    Ok(tokens)
}

fn is_scope_char(c: char) -> bool {
    c.is_ascii_graphic() && c != '(' && c != ')'
}

fn word(word: &str, column: usize) -> Result<Kind<'_>, ParseError> {
    Ok(match word {
        "AND" => Kind::And,
        "OR" => Kind::Or,
        _ if word.len() > MAX_SCOPE => {
            return Err(error(
                column,
                format!("a scope of at most {MAX_SCOPE} characters"),
                format!("one of {}", word.len()),
            ));
        }
        _ => Kind::Scope(word),
    })
}

/// Recursive descent over the tokens; `open` holds the columns of the
/// parentheses not yet closed, at most [`MAX_DEPTH`] of them.
struct Parser<'t, 'a> {
    tokens: &'t [Token<'a>],
    at: usize,
    open: Vec<usize>,
}

impl<'a> Parser<'_, 'a> {
    fn peek(&self) -> Token<'a> {
        self.tokens[self.at]
    }

    fn bump(&mut self) {
        if self.at + 1 < self.tokens.len() {
            self.at += 1;
        }
    }

    fn unexpected(&self, expected: &str) -> ParseError {
        let next = self.peek();
        error(next.column, expected.to_string(), next.describe())
    }

    /// `term { OR term }`.
    fn expr(&mut self) -> Result<ScopeExpr, ParseError> {
        let mut parts = vec![self.term()?];
        while self.peek().kind == Kind::Or {
            self.bump();
            parts.push(self.term()?);
        }
        Ok(join(parts, ScopeExpr::Any))
    }

    /// `factor { AND factor }`.
    fn term(&mut self) -> Result<ScopeExpr, ParseError> {
        let mut parts = vec![self.factor()?];
        while self.peek().kind == Kind::And {
            self.bump();
            parts.push(self.factor()?);
        }
        Ok(join(parts, ScopeExpr::All))
    }

    /// `scope | ( expr )`.
    fn factor(&mut self) -> Result<ScopeExpr, ParseError> {
        let next = self.peek();
        match next.kind {
            Kind::Scope(scope) => {
                self.bump();
                Ok(ScopeExpr::Scope(scope.to_string()))
            }
            Kind::Open if self.open.len() >= MAX_DEPTH => Err(error(
                next.column,
                format!("a scope (at most {MAX_DEPTH} nested parentheses)"),
                "'(' nested deeper".to_string(),
            )),
            Kind::Open => {
                self.open.push(next.column);
                self.bump();
                let inner = self.expr()?;
                if self.peek().kind != Kind::Close {
                    let opened = self.open.last().copied().unwrap_or(next.column);
                    let expected = format!("AND, OR or ')' to close the '(' at column {opened}");
                    return Err(self.unexpected(&expected));
                }
                self.open.pop();
                self.bump();
                Ok(inner)
            }
            _ => Err(self.unexpected("a scope or '('")),
        }
    }
}

/// One part as itself, several under `op`.
fn join(mut parts: Vec<ScopeExpr>, op: fn(Vec<ScopeExpr>) -> ScopeExpr) -> ScopeExpr {
    if parts.len() == 1 {
        parts.remove(0)
    } else {
        op(parts)
    }
}

#[cfg(test)]
mod tests;
