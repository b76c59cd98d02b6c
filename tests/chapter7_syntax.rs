//! Essay section 7, syntax: the hand-made parse trees. The parentheses tree is checked
//! against the nesting written out by hand, bad sequences are clear errors, and both
//! figures build.

use gpt2_explorer::figures::{self, syntax};
use gpt2_explorer::plot::TreeNode;
use serde_json::json;

/// The tree as a bracketed string: pair[( pair[( )] )].
fn show(n: &TreeNode) -> String {
    if n.children.is_empty() {
        n.label.clone()
    } else {
        format!(
            "{}[{}]",
            n.label,
            n.children.iter().map(show).collect::<Vec<_>>().join(" ")
        )
    }
}

#[test]
fn parens_tree_nests_as_written() {
    let t = syntax::parens_tree("(()())()").unwrap();
    assert_eq!(show(&t), "sequence[pair[( pair[( )] pair[( )] )] pair[( )]]");
    assert_eq!(
        show(&syntax::parens_tree("((()))").unwrap()),
        "sequence[pair[( pair[( pair[( )] )] )]]"
    );
}

#[test]
fn bad_sequences_are_clear_errors() {
    for (seq, want) in [
        ("(()", "1 \"(\" never closed"),
        ("())", "position 3 closes nothing"),
        ("(a)", "only \"(\" and \")\""),
        ("", "empty"),
    ] {
        let e = syntax::parens_tree(seq).unwrap_err().to_string();
        assert!(e.contains(want), "{seq:?}: {e}");
        let e = figures::make("parse-tree-parens", json!({"sequence": seq}), None)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains(want), "{seq:?} through the figure: {e}");
    }
}

#[test]
fn both_parse_trees_build_and_the_sentence_reads_in_order() {
    let fig = figures::make("parse-tree-english", json!({}), None).unwrap();
    assert!(fig.png().unwrap().len() > 1000);
    let words: Vec<&str> = fig
        .table
        .rows
        .iter()
        .filter(|r| r[3] == "leaf")
        .map(|r| r[1].as_str())
        .collect();
    assert_eq!(words.join(" "), "the curious cat chased a mouse through the house");
    let fig = figures::make("parse-tree-parens", json!({}), None).unwrap();
    assert!(fig.svg().unwrap().contains("<svg"));
    assert_eq!(fig.table.rows.iter().filter(|r| r[1] == "pair").count(), 5); // (()(()))() has 5 pairs
}
