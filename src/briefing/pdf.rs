//! The briefing as a PDF (`pdf-writer`): A4 pages set in the standard
//! Helvetica fonts (every PDF reader has them, nothing is embedded), text
//! in WinAnsi encoding so it can be searched and extracted, lines wrapped
//! by the fonts' own widths.

use pdf_writer::{Content, Name, Pdf, Rect, Ref, Str, TextStr};

use super::compose::{Briefing, Style};

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 56.0;
const BODY: f32 = 9.5;
const HEADING: f32 = 12.5;
const TITLE: f32 = 17.0;

/// Widths of Helvetica's printable ASCII characters (32–126), in 1/1000 em,
/// from its Adobe font metrics.
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
    611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500,
    222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];

/// A character in WinAnsi (Windows-1252), `?` when it has none.
fn win_ansi(c: char) -> u8 {
    match c {
        ' '..='~' => c as u8,
        '\u{a0}'..='\u{ff}' => c as u32 as u8,
        '€' => 0x80,
        '‚' => 0x82,
        '„' => 0x84,
        '…' => 0x85,
        '‘' => 0x91,
        '’' => 0x92,
        '“' => 0x93,
        '”' => 0x94,
        '•' => 0x95,
        '–' => 0x96,
        '—' => 0x97,
        '™' => 0x99,
        '\t' | '\n' | '\r' => b' ',
        _ => b'?',
    }
}

/// Width of one character at `size`, in points (bold is a little wider).
fn width(c: char, size: f32, bold: bool) -> f32 {
    let w = match c {
        ' '..='~' => f32::from(HELVETICA[(c as usize) - 32]),
        '“' | '”' => 333.0,
        '‘' | '’' => 222.0,
        '—' | '…' => 1000.0,
        '•' => 350.0,
        _ => 556.0,
    };
    w * size / 1000.0 * if bold { 1.06 } else { 1.0 }
}

/// `text` broken into lines no wider than `max` points.
fn wrap(text: &str, size: f32, bold: bool, max: f32) -> Vec<String> {
    let measure = |s: &str| s.chars().map(|c| width(c, size, bold)).sum::<f32>();
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_owned()
        } else {
            format!("{line} {word}")
        };
        if measure(&candidate) <= max || line.is_empty() {
            line = candidate;
            // A single word wider than the line is cut.
            while measure(&line) > max {
                let mut cut = String::new();
                for c in line.chars() {
                    if measure(&format!("{cut}{c}")) > max {
                        break;
                    }
                    cut.push(c);
                }
                if cut.is_empty() {
                    break;
                }
                line = line[cut.len()..].to_owned();
                lines.push(cut);
            }
        } else {
            lines.push(std::mem::take(&mut line));
            line = word.to_owned();
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// One line set on a page.
struct Placed {
    x: f32,
    y: f32,
    size: f32,
    bold: bool,
    grey: bool,
    text: String,
}

/// The pages being laid out, and how far down the last one is filled.
struct Layout {
    pages: Vec<Vec<Placed>>,
    y: f32,
}

/// How a run of text is set.
#[derive(Clone, Copy)]
struct Set {
    indent: f32,
    size: f32,
    bold: bool,
    grey: bool,
    before: f32,
}

impl Layout {
    fn put(&mut self, set: Set, text: &str) {
        let lead = set.size * 1.35;
        let lines = wrap(text, set.size, set.bold, PAGE_W - 2.0 * MARGIN - set.indent);
        self.y -= set.before;
        for (i, l) in lines.into_iter().enumerate() {
            if self.y - lead < MARGIN {
                self.pages.push(Vec::new());
                self.y = PAGE_H - MARGIN;
            }
            self.y -= lead;
            let hang = if i > 0 && set.indent > 0.0 { 8.0 } else { 0.0 };
            if let Some(page) = self.pages.last_mut() {
                page.push(Placed {
                    x: MARGIN + set.indent + hang,
                    y: self.y,
                    size: set.size,
                    bold: set.bold,
                    grey: set.grey,
                    text: l,
                });
            }
        }
    }
}

/// Lays the briefing out and writes the PDF.
pub fn render(b: &Briefing) -> Vec<u8> {
    let mut layout = Layout {
        pages: vec![Vec::new()],
        y: PAGE_H - MARGIN,
    };
    let set = |indent, size, bold, grey, before| Set {
        indent,
        size,
        bold,
        grey,
        before,
    };
    layout.put(set(0.0, TITLE, true, false, 0.0), &b.title);
    for s in &b.sections {
        layout.put(set(0.0, HEADING, true, false, 12.0), &s.heading);
        for l in &s.lines {
            match l.style {
                Style::Body => layout.put(set(0.0, BODY, false, false, 2.0), &l.text),
                Style::Sub => layout.put(set(0.0, BODY + 1.0, true, false, 7.0), &l.text),
                Style::Bullet => {
                    layout.put(set(10.0, BODY, false, false, 2.0), &format!("• {}", l.text))
                }
                Style::Quote => layout.put(set(18.0, BODY - 0.5, false, true, 1.0), &l.text),
            }
        }
    }
    layout.put(set(0.0, BODY - 1.5, false, true, 12.0), &b.marker());
    let pages = layout.pages;

    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let regular = Ref::new(3);
    let bold = Ref::new(4);
    let info = Ref::new(5);
    let first = 10;
    let page_ids: Vec<Ref> = (0..pages.len())
        .map(|i| Ref::new(first + 2 * i as i32))
        .collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().copied())
        .count(page_ids.len() as i32);
    pdf.type1_font(regular)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold)
        .base_font(Name(b"Helvetica-Bold"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.document_info(info)
        .title(TextStr(&b.title))
        .creator(TextStr("panelflow"))
        .subject(TextStr(&b.marker()));
    let total = pages.len();
    for (n, (placed, id)) in pages.iter().zip(&page_ids).enumerate() {
        let content_id = Ref::new(id.get() + 1);
        let mut page = pdf.page(*id);
        page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H))
            .parent(tree)
            .contents(content_id);
        page.resources()
            .fonts()
            .pair(Name(b"F1"), regular)
            .pair(Name(b"F2"), bold);
        drop(page);
        let mut c = Content::new();
        for p in placed {
            let shade = if p.grey { 0.32 } else { 0.0 };
            c.set_fill_rgb(shade, shade, shade);
            c.begin_text();
            c.set_font(Name(if p.bold { b"F2" } else { b"F1" }), p.size);
            c.next_line(p.x, p.y);
            let bytes: Vec<u8> = p.text.chars().map(win_ansi).collect();
            c.show(Str(&bytes));
            c.end_text();
        }
        let footer = format!("{} · page {} of {total}", b.title, n + 1);
        let bytes: Vec<u8> = footer.chars().map(win_ansi).collect();
        c.set_fill_rgb(0.45, 0.45, 0.45);
        c.begin_text();
        c.set_font(Name(b"F1"), 7.5);
        c.next_line(MARGIN, MARGIN / 2.0);
        c.show(Str(&bytes));
        c.end_text();
        pdf.stream(content_id, &c.finish());
    }
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_fit_and_words_stay_whole() {
        let text = "Where they diverge: Pat saw a strong yes and Sam a no on the same example.";
        let lines = wrap(text, 10.0, false, 120.0);
        assert!(lines.len() > 2, "{lines:?}");
        for l in &lines {
            assert!(l.chars().map(|c| width(c, 10.0, false)).sum::<f32>() <= 120.0);
        }
        assert_eq!(lines.join(" "), text);
        assert_eq!(win_ansi('“'), 0x93);
        assert_eq!(win_ansi('é'), 0xe9);
        assert_eq!(win_ansi('漢'), b'?');
    }
}
