//! One file per pane, each drawing from `&AppState` alone: nothing here
//! changes the state or computes what the state already holds.

pub mod analysis;
pub mod composer;
pub mod envelope;
pub mod help;
pub mod hints;
pub mod palette;
pub mod server_side;
pub mod status;
pub mod transcript;

use ratatui::style::Style;
use ratatui::text::{Line as TLine, Span};
use ratatui::widgets::{Block, Borders};
use tui_textarea::TextArea;

pub(crate) use crate::analysis::compare::list_or_none;
use crate::tui::theme::Theme;

/// A pane's frame: its border and title, marked when focused.
pub(crate) fn block<'a>(title: &'a str, focused: bool, theme: &Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::ALL)
        .style(theme.base())
        .border_style(theme.block(focused))
        .title(Span::styled(format!(" {title} "), theme.title(focused)))
}

/// `title` in a pane `width` columns wide (borders and the title's
/// spaces take four): whole, or cut with an ellipsis, never silently.
pub(crate) fn fit_title(title: &str, width: u16) -> String {
    ellipsize(title, usize::from(width.saturating_sub(4)))
}

/// `title` where it fits in a pane `width` columns wide, else `short` (the
/// same title without its explanation), cut as `fit_title` cuts.
pub(crate) fn fit_title_or(title: &str, short: &str, width: u16) -> String {
    if Span::raw(title).width() + 4 <= usize::from(width) {
        title.to_string()
    } else {
        fit_title(short, width)
    }
}

/// `text` in `room` columns: whole, or cut with an ellipsis.
pub(crate) fn ellipsize(text: &str, room: usize) -> String {
    if Span::raw(text).width() <= room {
        return text.to_string();
    }
    let mut cut = String::new();
    for c in text.chars() {
        cut.push(c);
        if Span::raw(cut.as_str()).width() + 1 > room {
            cut.pop();
            break;
        }
    }
    format!("{}…", cut.trim_end())
}

/// The narrowest a column of two side by side may be: a header field's
/// name and a domain ("Authentication-Results: demo.example.test", 41),
/// or an envelope command with an address, read without a break.
pub(crate) const COLUMN: usize = 42;

/// What stands between two columns side by side.
const RULE: &str = " │ ";

/// Two columns side by side in `width` columns, the left as wide as its
/// widest line (at least `COLUMN`), the right the rest, each line wrapped
/// at its spaces with continuations indented two past its own indent;
/// None where `width` cannot hold two columns of `COLUMN` (stack them).
/// Decided from the width the pane has, not the terminal's.
pub(crate) fn side_by_side(
    left: &[TLine<'_>],
    right: &[TLine<'_>],
    width: usize,
    rule: Style,
) -> Option<Vec<TLine<'static>>> {
    let widest = left.iter().map(TLine::width).max().unwrap_or(0);
    columns(
        left,
        right,
        width,
        |room| widest.max(COLUMN).min(room - COLUMN),
        rule,
    )
}

/// Two columns of even width side by side, for two sides of long
/// sentences (F2's findings beside its verdicts); None, as
/// `side_by_side`, where `width` cannot hold two of `COLUMN`.
pub(crate) fn halves(
    left: &[TLine<'_>],
    right: &[TLine<'_>],
    width: usize,
    rule: Style,
) -> Option<Vec<TLine<'static>>> {
    columns(left, right, width, |room| room / 2, rule)
}

/// `left` wrapped to the columns `left_w` gives it out of the room the
/// rule leaves, beside `right` wrapped to the rest; None where `width`
/// cannot hold two columns of `COLUMN`.
fn columns(
    left: &[TLine<'_>],
    right: &[TLine<'_>],
    width: usize,
    left_w: impl FnOnce(usize) -> usize,
    rule: Style,
) -> Option<Vec<TLine<'static>>> {
    let gap = Span::raw(RULE).width();
    if width < 2 * COLUMN + gap {
        return None;
    }
    let left_w = left_w(width - gap);
    let right_w = width - gap - left_w;
    let l = wrap_all(left, left_w);
    let r = wrap_all(right, right_w);
    let rows = (0..l.len().max(r.len()))
        .map(|i| {
            let mut spans: Vec<Span<'static>> = Vec::new();
            let mut used = 0;
            if let Some(row) = l.get(i) {
                used = row.width();
                spans.extend(row.spans.iter().map(|s| s.clone().patch_style(row.style)));
            }
            spans.push(Span::raw(" ".repeat(left_w.saturating_sub(used))));
            spans.push(Span::styled(RULE, rule));
            if let Some(row) = r.get(i) {
                spans.extend(row.spans.iter().map(|s| s.clone().patch_style(row.style)));
            }
            TLine::from(spans)
        })
        .collect();
    Some(rows)
}

/// Every line wrapped to `width`, continuations two columns past the
/// line's own indent (a folded header field's continuation keeps its
/// place and its wrapped rows go further in).
pub(crate) fn wrap_all(lines: &[TLine<'_>], width: usize) -> Vec<TLine<'static>> {
    lines
        .iter()
        .flat_map(|l| {
            let text = l.to_string();
            let indent = text.len() - text.trim_start_matches(' ').len();
            wrap_line(l.clone(), width, indent + 2)
        })
        .collect()
}

/// Where a scrolled view stands, for its pane's bottom border: rows
/// above and below the view, and the keys that reach them; None when all
/// of it shows.
pub(crate) fn more(offset: u16, content: u16, view: u16, keys: &str) -> Option<String> {
    let above = offset > 0;
    let below = u32::from(offset) + u32::from(view) < u32::from(content);
    let text = match (above, below) {
        (false, false) => return None,
        (true, true) => "▲ more above · ▼ more below",
        (true, false) => "▲ more above",
        (false, true) => "▼ more below",
    };
    Some(format!(" {text} ({keys}) "))
}

/// The rows a wrapped paragraph takes at this width.
pub(crate) fn wrapped_rows(text: &ratatui::widgets::Paragraph<'_>, width: u16) -> u16 {
    u16::try_from(text.line_count(width.max(1))).unwrap_or(u16::MAX)
}

/// The rows `offset` may take for `content` rows in a `view` of that height.
pub(crate) fn clamp_offset(offset: u16, content: u16, view: u16) -> u16 {
    offset.min(content.saturating_sub(view))
}

/// A line cut into rows of `width` columns, at a space where the row has
/// one (else mid-word), each continuation indented by `indent` so that it
/// sits under the text, not under the time. The line's style (the
/// selection) stays on every row.
pub(crate) fn wrap_line(line: TLine<'_>, width: usize, indent: usize) -> Vec<TLine<'static>> {
    use ratatui::style::Style;
    use unicode_width::UnicodeWidthChar;
    let indent = indent.min(width.saturating_sub(1));
    let cells: Vec<(char, Style, usize)> = line
        .spans
        .iter()
        .flat_map(|s| {
            s.content
                .chars()
                .map(move |c| (c, s.style, c.width().unwrap_or(0)))
        })
        .collect();
    let mut rows = Vec::new();
    let mut start = 0;
    let mut first = true;
    while start < cells.len() || first {
        let lead = if first { 0 } else { indent };
        // The cells that fit in this row.
        let mut col = lead;
        let mut end = start;
        while end < cells.len() && (col + cells[end].2 <= width || end == start) {
            col += cells[end].2;
            end += 1;
        }
        if end < cells.len() {
            // Break after the row's last space, past the time and marker.
            let floor = if first { start + indent } else { start };
            if let Some(space) = (floor..end).rev().find(|&i| cells[i].0 == ' ') {
                if space + 1 > start {
                    end = space + 1;
                }
            }
        }
        let mut spans: Vec<Span<'static>> = Vec::new();
        if lead > 0 {
            spans.push(Span::raw(" ".repeat(lead)));
        }
        for &(c, st, _) in &cells[start..end] {
            match spans.last_mut() {
                Some(last) if last.style == st => last.content.to_mut().push(c),
                _ => spans.push(Span::styled(c.to_string(), st)),
            }
        }
        rows.push(TLine::from(spans).style(line.style));
        start = end;
        first = false;
    }
    rows
}

/// A text field to draw: the cursor shows only when the field has focus.
pub(crate) fn field<'a>(ta: &TextArea<'a>, focused: bool, theme: &Theme) -> TextArea<'a> {
    let mut t = ta.clone();
    t.set_cursor_line_style(Style::default());
    t.set_cursor_style(if focused {
        theme.selected()
    } else {
        Style::default()
    });
    t
}
