//! The panes that scroll by rows besides the transcript: F2's findings and
//! verdicts, F3, the lesson's instruction, and the help overlay. The offset changes in `update`;
//! the loop measures each view against its pane before drawing (`fit`), as
//! it sets the transcript's page, and drawing only reads both.

/// A view that scrolls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// F2: the envelope against the headers and the authentication verdicts.
    Analysis,
    /// F3: what the built-in server received and what the reader sees.
    ServerSide,
    /// The lesson's instruction above the palette's commands.
    Lesson,
    /// The help overlay, taller than a small terminal.
    Help,
    /// The selected reply's explanation, under the transcript lines.
    Explanation,
}

/// How far to scroll a view: rows, or pages (the pane's height less one
/// row, so a page keeps one row of context).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Rows(i16),
    Pages(i16),
}

/// One view's position: rows scrolled off the top, and what the loop last
/// measured (the most rows that may go off the top, the rows in view).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PaneScroll {
    pub offset: u16,
    max: u16,
    page: u16,
}

impl PaneScroll {
    /// Scrolls by `step`, within what the content allows.
    pub fn by(&mut self, step: Step) {
        let rows = match step {
            Step::Rows(n) => i32::from(n),
            Step::Pages(n) => i32::from(n) * i32::from(self.page.saturating_sub(1).max(1)),
        };
        let next = (i32::from(self.offset) + rows).clamp(0, i32::from(self.max));
        self.offset = u16::try_from(next).unwrap_or(0);
    }

    /// The loop's measure: `content` rows once wrapped, `view` rows shown.
    /// Content that shrank (a shorter judgement) pulls the offset back.
    pub fn fit(&mut self, content: u16, view: u16) {
        self.page = view;
        self.max = content.saturating_sub(view);
        self.offset = self.offset.min(self.max);
    }

    /// Back to the top (a new lesson step).
    pub fn reset(&mut self) {
        self.offset = 0;
    }
}

/// Every scrolling view's position.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Views {
    pub analysis: PaneScroll,
    pub server_side: PaneScroll,
    pub lesson: PaneScroll,
    pub help: PaneScroll,
    pub explanation: PaneScroll,
    /// The lesson step `lesson` scrolls (None: no lesson).
    lesson_step: Option<usize>,
}

impl Views {
    /// A new lesson step (or lesson) starts at its top.
    pub fn follow_lesson(&mut self, step: Option<usize>) {
        if self.lesson_step != step {
            self.lesson_step = step;
            self.lesson.reset();
        }
    }

    pub fn get_mut(&mut self, view: View) -> &mut PaneScroll {
        match view {
            View::Analysis => &mut self.analysis,
            View::ServerSide => &mut self.server_side,
            View::Lesson => &mut self.lesson,
            View::Help => &mut self.help,
            View::Explanation => &mut self.explanation,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_scrolls_within_its_content_and_pages_keep_a_row() {
        let mut s = PaneScroll::default();
        s.by(Step::Rows(3));
        assert_eq!(s.offset, 0, "nothing measured yet: nothing to scroll");
        s.fit(20, 6);
        s.by(Step::Pages(1));
        assert_eq!(s.offset, 5);
        s.by(Step::Rows(100));
        assert_eq!(s.offset, 14, "the last row at the bottom of the view");
        s.by(Step::Rows(-1));
        assert_eq!(s.offset, 13);
        s.fit(8, 6);
        assert_eq!(s.offset, 2, "shorter content pulls it back");
        s.by(Step::Pages(-3));
        assert_eq!(s.offset, 0);
    }
}
