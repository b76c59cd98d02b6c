//! Essay section 4 (and its remarks on computational irreducibility): an elementary
//! cellular automaton such as rule 30, grown from one black cell.

/// `steps` rows of elementary cellular automaton `rule` (Wolfram's numbering) on `width`
/// cells, starting from one live cell in the middle; cells beyond the edges are dead.
/// Row-major, 1 = live.
pub fn elementary(rule: u8, width: usize, steps: usize) -> Vec<Vec<u8>> {
    let mut row = vec![0u8; width];
    if width > 0 {
        row[width / 2] = 1;
    }
    let mut rows = vec![row.clone()];
    for _ in 1..steps {
        let next = (0..width)
            .map(|i| {
                let l = if i > 0 { row[i - 1] } else { 0 };
                let r = if i + 1 < width { row[i + 1] } else { 0 };
                (rule >> (l << 2 | row[i] << 1 | r)) & 1
            })
            .collect();
        row = next;
        rows.push(row.clone());
    }
    rows
}
