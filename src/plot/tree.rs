//! Trees drawn top-down (essay section 7, syntax): a parse tree of an English sentence
//! or of a sequence of parentheses. Leaves sit in one row at the bottom in their order,
//! each inner node is centred over its children, edges are straight lines.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::HPos;

use super::theme::{self, put_text, Theme, VAlign};
use super::PlotError;

/// One node: its label and its children (none for a leaf).
#[derive(Clone, Debug, Default)]
pub struct TreeNode {
    pub label: String,
    pub children: Vec<TreeNode>,
}

impl TreeNode {
    pub fn leaf(label: impl Into<String>) -> Self {
        TreeNode {
            label: label.into(),
            children: vec![],
        }
    }
    pub fn node(label: impl Into<String>, children: Vec<TreeNode>) -> Self {
        TreeNode {
            label: label.into(),
            children,
        }
    }
    fn depth(&self) -> usize {
        1 + self.children.iter().map(TreeNode::depth).max().unwrap_or(0)
    }
    fn leaves(&self) -> usize {
        if self.children.is_empty() {
            1
        } else {
            self.children.iter().map(TreeNode::leaves).sum()
        }
    }
}

/// A tree with a title; leaves are drawn in bold (the words or symbols themselves).
#[derive(Clone, Debug, Default)]
pub struct TreePlot {
    pub title: String,
    pub subtitle: String,
    pub root: TreeNode,
    /// All leaves in the bottom row (the words of a sentence); otherwise each leaf sits
    /// one row below its parent (so that nested brackets' edges do not cross).
    pub leaves_at_bottom: bool,
}

/// (x in leaf units, row, label, is leaf) of every node, and edges by index.
fn layout(
    node: &TreeNode,
    row: usize,
    rows: Option<usize>,
    next_leaf: &mut usize,
    out: &mut Vec<(f64, usize, String, bool)>,
    edges: &mut Vec<(usize, usize)>,
) -> usize {
    let me = out.len();
    out.push((0.0, row, node.label.clone(), node.children.is_empty()));
    if node.children.is_empty() {
        out[me].0 = *next_leaf as f64;
        if let Some(rows) = rows {
            out[me].1 = rows - 1; // every leaf in the bottom row
        }
        *next_leaf += 1;
    } else {
        let kids: Vec<usize> = node
            .children
            .iter()
            .map(|c| layout(c, row + 1, rows, next_leaf, out, edges))
            .collect();
        out[me].0 = (out[kids[0]].0 + out[kids[kids.len() - 1]].0) / 2.0;
        edges.extend(kids.iter().map(|&k| (me, k)));
    }
    me
}

/// Draws a [`TreePlot`] into `area`.
pub fn draw_tree<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, data: &TreePlot) -> Result<(), PlotError> {
    let theme = Theme::for_area(area)?;
    let body = theme::header(area, &theme, &data.title, &data.subtitle)?;
    let (rows, leaves) = (data.root.depth(), data.root.leaves());
    let (mut nodes, mut edges) = (Vec::new(), Vec::new());
    layout(
        &data.root,
        0,
        data.leaves_at_bottom.then_some(rows),
        &mut 0,
        &mut nodes,
        &mut edges,
    );
    let (w, h) = body.dim_in_pixel();
    let m = theme.margin();
    let (uw, uh) = (
        (w as i32 - 2 * m) as f64 / leaves as f64,
        (h as i32 - 2 * m) as f64 / rows.max(2) as f64,
    );
    if uw < 12.0 || uh < 12.0 {
        return Err(PlotError::TooSmall {
            w,
            h,
            what: format!("a tree with {leaves} leaves and {rows} levels"),
        });
    }
    let px = |x: f64, row: usize| {
        (
            m + (uw * (x + 0.5)).round() as i32,
            m + (uh * (row as f64 + 0.5)).round() as i32,
        )
    };
    let label_px = (theme.label_px() * 1.2).min(uw * 0.45);
    let inner = theme::style(label_px, theme::MUTED);
    let leaf = theme::bold(label_px * 1.15, theme::TEXT);
    let pad = (label_px * 0.9) as i32;
    for &(a, b) in &edges {
        let (pa, pb) = (px(nodes[a].0, nodes[a].1), px(nodes[b].0, nodes[b].1));
        body.draw(&PathElement::new(
            vec![(pa.0, pa.1 + pad), (pb.0, pb.1 - pad)],
            theme::AXIS.stroke_width(theme.line_width()),
        ))?;
    }
    for (x, row, label, is_leaf) in &nodes {
        put_text(
            &body,
            label,
            if *is_leaf { &leaf } else { &inner },
            px(*x, *row),
            HPos::Center,
            VAlign::Middle,
        )?;
    }
    Ok(())
}
