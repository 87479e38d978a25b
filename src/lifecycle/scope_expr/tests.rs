use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;

fn held(scopes: &[&str]) -> Vec<String> {
    scopes.iter().map(|s| (*s).to_string()).collect()
}

fn holds(text: &str, scopes: &[&str]) -> bool {
    evaluate(&parse(text).expect("parses"), &held(scopes))
}

/// The column, expected and found of a refused expression.
fn refused(text: &str) -> (usize, String, String) {
    let e = parse(text).expect_err("refused");
    (e.column, e.expected, e.found)
}

/// The example.
#[test]
fn example() {
    let q = "orders:read AND (refunds:write OR admin)";
    assert!(holds(q, &["orders:read", "admin"]));
    assert!(holds(q, &["refunds:write", "orders:read"]));
    assert!(!holds(q, &["orders:read"]));
    assert!(!holds(q, &["admin", "refunds:write"]));
    assert!(!holds(q, &[]));
}

/// AND binds tighter than OR, on either side; parentheses override it.
#[test]
fn precedence() {
    assert!(holds("a OR b AND c", &["a"]));
    assert!(!holds("a OR b AND c", &["b"]));
    assert!(holds("a AND b OR c", &["c"]));
    assert!(!holds("(a OR b) AND c", &["a"]));
    assert!(holds("(a OR b) AND c", &["a", "c"]));
    assert_eq!(
        parse("a OR b AND c OR d").unwrap().to_string(),
        "a OR b AND c OR d"
    );
    assert_eq!(
        parse("a OR b AND c OR d").unwrap(),
        ScopeExpr::Any(vec![
            ScopeExpr::Scope("a".into()),
            ScopeExpr::All(vec![
                ScopeExpr::Scope("b".into()),
                ScopeExpr::Scope("c".into())
            ]),
            ScopeExpr::Scope("d".into()),
        ])
    );
    assert_eq!(
        parse("(a OR b) AND c").unwrap().to_string(),
        "(a OR b) AND c"
    );
}

/// Scopes have the characters a credential's scope may have, bar
/// parentheses; whitespace is optional around parentheses; operators are
/// capitals only.
#[test]
fn tokens() {
    assert!(holds("  a:b.c/d-e_f*!  ", &["a:b.c/d-e_f*!"]));
    assert!(holds("(a)AND(b)", &["a", "b"]));
    assert!(holds("a\tAND\nb", &["a", "b"]));
    assert!(holds("((((a))))", &["a"]));
    assert_eq!(parse("And").unwrap(), ScopeExpr::Scope("And".into()));
    assert!(holds(&"x".repeat(MAX_SCOPE), &[&"x".repeat(MAX_SCOPE)]));
    assert_eq!(
        refused("a and b"),
        (
            3,
            "AND, OR or the end".into(),
            "the scope 'and' (operators are written AND and OR)".into()
        )
    );
}

/// The same scope limit as the engine applies to scope lists.
#[test]
fn scope_limit_matches_the_engine() {
    assert_eq!(MAX_SCOPE, crate::engine::validate::MAX_SCOPE);
}

/// Each syntax error names its column, what was expected and what was found.
#[test]
fn error_positions() {
    let scope_or_open = "a scope or '('".to_string();
    assert_eq!(refused(""), (1, scope_or_open.clone(), "the end".into()));
    assert_eq!(refused("   "), (4, scope_or_open.clone(), "the end".into()));
    assert_eq!(
        refused("a AND"),
        (6, scope_or_open.clone(), "the end".into())
    );
    assert_eq!(refused("OR a"), (1, scope_or_open.clone(), "OR".into()));
    assert_eq!(
        refused("a OR AND b"),
        (6, scope_or_open.clone(), "AND".into())
    );
    assert_eq!(refused("()"), (2, scope_or_open.clone(), "')'".into()));
    assert_eq!(
        refused("a b"),
        (3, "AND, OR or the end".into(), "the scope 'b'".into())
    );
    assert_eq!(
        refused("a AND (b OR c"),
        (
            14,
            "AND, OR or ')' to close the '(' at column 7".into(),
            "the end".into()
        )
    );
    assert_eq!(
        refused("(a AND (b) c)"),
        (
            12,
            "AND, OR or ')' to close the '(' at column 1".into(),
            "the scope 'c'".into()
        )
    );
    assert_eq!(
        refused("a OR b)"),
        (
            7,
            "AND, OR or the end".into(),
            "')' without a matching '('".into()
        )
    );
    assert_eq!(
        refused("a (b)"),
        (3, "AND, OR or the end".into(), "'('".into())
    );
}

/// Characters no scope has, and over-long scopes, are refused where they
/// stand; columns count characters, not bytes.
#[test]
fn unknown_tokens() {
    let (column, _, found) = refused("a AND é");
    assert_eq!((column, found.as_str()), (7, "the character 'é'"));
    let (column, _, found) = refused("a AND \u{7}");
    assert_eq!((column, found.as_str()), (7, "the character '\\u{7}'"));
    let long = format!("a OR {}", "x".repeat(MAX_SCOPE + 1));
    assert_eq!(
        refused(&long),
        (
            6,
            "a scope of at most 128 characters".into(),
            "one of 129".into()
        )
    );
}

/// At most 1 KiB; the column is the first character past the limit.
#[test]
fn length_bound() {
    let at_limit = format!("{}bcde", "a OR ".repeat(204));
    assert_eq!(at_limit.len(), MAX_LEN);
    assert!(parse(&at_limit).is_ok());
    let over = format!("{at_limit} ");
    let (column, expected, found) = refused(&over);
    assert_eq!(column, MAX_LEN + 1);
    assert_eq!(expected, "the end (at most 1024 bytes)");
    assert_eq!(found, "1025 bytes");
    let wide = "é".repeat(600);
    assert_eq!(refused(&wide).0, 513);
}

/// Nesting deeper than the limit is refused at the first '(' too many,
/// without deep recursion, however long the hostile input.
#[test]
fn depth_bound() {
    let nest = |n: usize| format!("{}a{}", "(".repeat(n), ")".repeat(n));
    assert!(holds(&nest(MAX_DEPTH), &["a"]));
    let (column, expected, _) = refused(&nest(MAX_DEPTH + 1));
    assert_eq!(column, MAX_DEPTH + 1);
    assert_eq!(expected, "a scope (at most 32 nested parentheses)");
    assert_eq!(refused(&"(".repeat(MAX_LEN)).0, MAX_DEPTH + 1);
    let deep = "(a AND ".repeat(MAX_DEPTH + 1);
    assert_eq!(refused(&deep).0, 7 * MAX_DEPTH + 1);
    // Long flat expressions are fine: no recursion per operator.
    let flat = vec!["a"; MAX_LEN / 5].join(" OR ");
    assert!(holds(&flat, &["a"]));
}

/// The list and the expression must both hold.
#[test]
fn list_and_query() {
    let q = parse("a OR b").unwrap();
    let required = held(&["c"]);
    assert!(satisfied(&required, Some(&q), &held(&["a", "c"])));
    assert!(!satisfied(&required, Some(&q), &held(&["a"])));
    assert!(!satisfied(&required, Some(&q), &held(&["c"])));
    assert!(satisfied(&required, None, &held(&["c"])));
    assert!(satisfied(&[], None, &[]));
    assert!(!satisfied(&[], Some(&q), &[]));
}

/// Several expressions joined: all must hold.
#[test]
fn all_of() {
    assert_eq!(ScopeExpr::all_of(Vec::new()), None);
    let a = parse("a").unwrap();
    assert_eq!(ScopeExpr::all_of(vec![a.clone()]), Some(a));
    let both = ScopeExpr::all_of(vec![parse("a OR b").unwrap(), parse("c").unwrap()]).unwrap();
    assert_eq!(both.to_string(), "(a OR b) AND c");
    assert!(evaluate(&both, &held(&["b", "c"])));
    assert!(!evaluate(&both, &held(&["b"])));
}

// ---- against a brute-force evaluator ----------------------------------

/// A generated expression, evaluated directly.
#[derive(Debug)]
enum Gen {
    Leaf(usize),
    And(Box<Gen>, Box<Gen>),
    Or(Box<Gen>, Box<Gen>),
}

const NAMES: [&str; 4] = ["a", "b:c", "d.e", "f"];

fn generate(rng: &mut StdRng, depth: usize) -> Gen {
    if depth == 0 || rng.random_range(0..3) == 0 {
        return Gen::Leaf(rng.random_range(0..NAMES.len()));
    }
    let left = Box::new(generate(rng, depth - 1));
    let right = Box::new(generate(rng, depth - 1));
    if rng.random_bool(0.5) {
        Gen::And(left, right)
    } else {
        Gen::Or(left, right)
    }
}

/// Truth of `g` when bit i of `mask` says whether NAMES[i] is held.
fn brute(g: &Gen, mask: usize) -> bool {
    match g {
        Gen::Leaf(i) => mask & (1 << i) != 0,
        Gen::And(l, r) => brute(l, mask) && brute(r, mask),
        Gen::Or(l, r) => brute(l, mask) || brute(r, mask),
    }
}

/// Writes `g` with the fewest parentheses precedence allows (an OR under an
/// AND, and any right operand of the same operator, to keep the tree's
/// shape), plus random redundant ones and random spacing.
fn render(g: &Gen, rng: &mut StdRng, out: &mut String) {
    let space = |rng: &mut StdRng| [" ", "  ", "\t"][rng.random_range(0..3)];
    let extra = rng.random_range(0..5) == 0;
    if extra {
        out.push('(');
    }
    match g {
        Gen::Leaf(i) => out.push_str(NAMES[*i]),
        Gen::And(l, r) | Gen::Or(l, r) => {
            let and = matches!(g, Gen::And(..));
            for (side, operand) in [(0, l), (1, r)] {
                if side == 1 {
                    out.push_str(space(rng));
                    out.push_str(if and { "AND" } else { "OR" });
                    out.push_str(space(rng));
                }
                let wrap = match operand.as_ref() {
                    Gen::Or(..) => and || side == 1,
                    Gen::And(..) => and && side == 1,
                    Gen::Leaf(_) => false,
                };
                if wrap {
                    out.push('(');
                }
                render(operand, rng, out);
                if wrap {
                    out.push(')');
                }
            }
        }
    }
    if extra {
        out.push(')');
    }
}

/// Random expressions agree with a direct evaluation of the tree they were
/// written from, for every set of held scopes; the canonical form parses
/// back to an equivalent expression.
#[test]
fn agrees_with_brute_force() {
    let mut rng = StdRng::seed_from_u64(20);
    for _ in 0..500 {
        let g = generate(&mut rng, 5);
        let mut text = String::new();
        render(&g, &mut rng, &mut text);
        let parsed = parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let canonical = parse(&parsed.to_string()).expect("canonical form parses");
        for mask in 0..(1 << NAMES.len()) {
            let scopes: Vec<String> = (0..NAMES.len())
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| NAMES[i].to_string())
                .collect();
            let want = brute(&g, mask);
            assert_eq!(evaluate(&parsed, &scopes), want, "{text} with {scopes:?}");
            assert_eq!(
                evaluate(&canonical, &scopes),
                want,
                "{parsed} with {scopes:?}"
            );
        }
    }
}
