//! Essay section 7, "What lets it work: syntax": hand-made parse trees of an English
//! sentence and of a sequence of balanced parentheses (schematic; the trees are written
//! out here, not computed by a parser). The trained parentheses transformer of this
//! section lives elsewhere.

use serde::{Deserialize, Serialize};

use super::{Ctx, Figure, FigureSpec, Made, NoParams, Plot, Table};
use crate::error::{Error, ParensProblem, Result};
use crate::plot::{TreeNode, TreePlot};

const SECTION: &str = super::sections::SYNTAX_AND_MEANING;
const WIDE: (u32, u32) = (1200, 800);

/// The section's schematic syntax figures.
pub fn figures() -> Vec<FigureSpec> {
    vec![
        FigureSpec::new("parse-tree-english", SECTION, Made::Schematic, "A parse tree of an English sentence: words group into phrases, phrases into the sentence (drawn by hand).", NoParams::default, parse_tree_english),
        FigureSpec::new("parse-tree-parens", SECTION, Made::Schematic, "The parse tree of the balanced parentheses {sequence}: every \"(\" is matched by the \")\" that closes its pair.", || ParensTreeParams { sequence: "(()(()))()".into() }, parse_tree_parens),
    ]
}

/// A sequence of balanced parentheses to draw as a tree.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParensTreeParams {
    pub sequence: String,
}

use TreeNode as N;

/// Rows (depth, node, parent) of a tree, depth-first: the figure's CSV.
fn table(root: &TreeNode) -> Table {
    fn walk(n: &TreeNode, depth: usize, parent: &str, t: &mut Table) {
        t.push(vec![
            depth.to_string(),
            n.label.clone(),
            parent.to_string(),
            if n.children.is_empty() { "leaf" } else { "phrase" }.into(),
        ]);
        for c in &n.children {
            walk(c, depth + 1, &n.label, t);
        }
    }
    let mut t = Table::new(&["depth", "node", "parent", "kind"]);
    walk(root, 0, "", &mut t);
    t
}

fn parse_tree_english(_ctx: &Ctx, _p: &NoParams) -> Result<Figure> {
    let np = |det: &str, adj: Option<&str>, noun: &str| {
        let mut kids = vec![N::node("Det", vec![N::leaf(det)])];
        if let Some(a) = adj {
            kids.push(N::node("Adj", vec![N::leaf(a)]));
        }
        kids.push(N::node("N", vec![N::leaf(noun)]));
        N::node("NP", kids)
    };
    let root = N::node(
        "S",
        vec![
            np("the", Some("curious"), "cat"),
            N::node(
                "VP",
                vec![
                    N::node("V", vec![N::leaf("chased")]),
                    np("a", None, "mouse"),
                    N::node(
                        "PP",
                        vec![N::node("P", vec![N::leaf("through")]), np("the", None, "house")],
                    ),
                ],
            ),
        ],
    );
    let plot = TreePlot {
        title: "The grammar of a sentence".into(),
        subtitle:
            "S sentence · NP noun phrase · VP verb phrase · PP prepositional phrase · Det, Adj, N, V, P: word classes"
                .into(),
        root,
        leaves_at_bottom: true,
    };
    Ok(Figure {
        table: table(&plot.root),
        plot: Plot::Tree(plot),
        size: WIDE,
    })
}

/// The parse tree of a balanced sequence: each matched pair is a node whose children
/// are "(", the pairs nested inside it, and ")".
pub fn parens_tree(seq: &str) -> Result<TreeNode> {
    let mut stack: Vec<Vec<TreeNode>> = vec![vec![]];
    for (i, c) in seq.chars().enumerate() {
        match c {
            '(' => stack.push(vec![N::leaf("(")]),
            ')' => {
                let mut kids = stack
                    .pop()
                    .filter(|_| !stack.is_empty())
                    .ok_or_else(|| Error::BadParens {
                        sequence: seq.to_string(),
                        problem: ParensProblem::ClosesNothing(i + 1),
                    })?;
                kids.push(N::leaf(")"));
                stack
                    .last_mut()
                    .expect("the outer level is never popped")
                    .push(N::node("pair", kids));
            }
            _ => {
                return Err(Error::BadParens {
                    sequence: seq.to_string(),
                    problem: ParensProblem::NotAParenthesis(c),
                })
            }
        }
    }
    if stack.len() != 1 {
        return Err(Error::BadParens {
            sequence: seq.to_string(),
            problem: ParensProblem::NeverClosed(stack.len() - 1),
        });
    }
    let top = stack.pop().unwrap_or_default();
    if top.is_empty() {
        return Err(Error::EmptyParens);
    }
    Ok(N::node("sequence", top))
}

fn parse_tree_parens(_ctx: &Ctx, p: &ParensTreeParams) -> Result<Figure> {
    let seq = p.sequence.as_str();
    let root = parens_tree(seq)?;
    let plot = TreePlot {
        title: format!("The structure of {seq}"),
        subtitle: "each \"pair\" is a \"(\" with its matching \")\" and whatever is nested between them".into(),
        root,
        leaves_at_bottom: false,
    };
    Ok(Figure {
        table: table(&plot.root),
        plot: Plot::Tree(plot),
        size: WIDE,
    })
}
