//! The review page's HTML, rendered on the server from a *view* of an item:
//! [`item_view`] builds that view for one role (scores, flags and the
//! calibration figures left out where the role may not see them), and the
//! renderers only ever read the view, so what a role may not see is never
//! sent — in the HTML or in the JSON.
//!
//! ```
//! use panelflow::review::page::esc;
//! assert_eq!(esc("<b a=\"x\">&'"), "&lt;b a=&quot;x&quot;&gt;&amp;&#39;");
//! ```

mod calibration;
mod escape;
mod interview;
mod layout;
mod queue;
mod view;

pub use self::calibration::load_calibration;
pub use self::escape::{clock, esc, path_segment, waited};
pub use self::interview::interview_page;
pub use self::layout::{layout, login_page, message_page, script, stylesheet};
pub use self::queue::queue_page;
pub use self::view::{item_view, note_body, note_visible, queue_row};

#[cfg(test)]
mod tests;
