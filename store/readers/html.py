"""Web pages and Markdown: the main text without markup, the title from the page.

The main text comes from trafilatura (boilerplate removal: menus, footers, reference lists);
metadata from the page's own tags, preferring the scholarly ``citation_*`` meta tags that arXiv,
journals and Google Scholar use. Markdown is rendered with markdown-it and read as HTML.
"""

from __future__ import annotations

import re
from pathlib import Path

import trafilatura
from bs4 import BeautifulSoup
from markdown_it import MarkdownIt

from store.errors import ReadError
from store.paper import ARXIV_ID, Document, Paper, Section
from store.readers import ReadResult, read_text

_SITE_SUFFIX = re.compile(r"\s+[-–—|]\s+[^-–—|]{2,40}$")  # "Barack Obama - Wikipedia"
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
_ARXIV = re.compile(ARXIV_ID)


def read_html(path: Path) -> ReadResult:
    return ReadResult([_page(read_text(path), str(path))])


def read_markdown(path: Path) -> ReadResult:
    text = read_text(path)
    front, body = _front_matter(text)
    html = MarkdownIt("commonmark").render(body)
    document = _page(html, str(path), main_text=False)
    if front.get("title"):
        document.paper.title = front["title"]
    if front.get("author"):
        document.paper.authors = [a.strip() for a in re.split(r",| and ", front["author"])]
    return ReadResult([document])


def _page(html: str, origin: str, *, main_text: bool = True) -> Document:
    soup = BeautifulSoup(html, "lxml")
    paper = _metadata(soup)
    sections = _sections(html, soup, main_text)
    if not sections and not paper.abstract:
        raise ReadError("no readable text in the page")
    return Document(paper, origin, sections)


def _meta(soup: BeautifulSoup, *names: str) -> list[str]:
    values = []
    for name in names:
        for tag in soup.find_all("meta", attrs={"name": name}) + soup.find_all(
            "meta", attrs={"property": name}
        ):
            content = tag.get("content")
            if isinstance(content, str) and content.strip():
                values.append(" ".join(content.split()))
    return values


def _metadata(soup: BeautifulSoup) -> Paper:
    title = next(iter(_meta(soup, "citation_title", "dc.title")), None)
    heading = soup.find("h1")
    if title is None and heading is not None and heading.get_text(strip=True):
        title = " ".join(heading.get_text(" ", strip=True).split())
    if title is None:
        page_title = soup.title.string if soup.title is not None else None
        for candidate in [*_meta(soup, "og:title"), page_title]:
            if candidate and candidate.strip():
                title = _SITE_SUFFIX.sub("", " ".join(candidate.split()))
                break
    authors = [_name(a) for a in _meta(soup, "citation_author", "dc.creator")]
    if not authors:
        authors = [_name(a) for a in _meta(soup, "author") if not a.startswith("http")]
    date = next(iter(_meta(soup, "citation_publication_date", "citation_date", "dc.date")), None)
    year_match = _YEAR.search(date or "")
    arxiv = next(iter(_meta(soup, "citation_arxiv_id")), None)
    arxiv_match = _ARXIV.search(arxiv or "")
    return Paper(
        title=title,
        authors=[a for a in authors if a],
        date=date,
        year=int(year_match.group(1)) if year_match else None,
        venue=next(
            iter(_meta(soup, "citation_journal_title", "citation_conference_title", "og:site_name")), None
        ),
        doi=next(iter(_meta(soup, "citation_doi")), None),
        arxiv_id=arxiv_match.group(1) if arxiv_match else None,
        url=next(iter(_meta(soup, "citation_abstract_html_url", "og:url")), None),
        abstract=next(iter(_meta(soup, "citation_abstract")), None),
    )


def _name(name: str) -> str:
    """'White, Andrew D.' -> 'Andrew D. White'."""
    if name.count(",") == 1:
        last, first = (part.strip() for part in name.split(","))
        return f"{first} {last}".strip()
    return name.strip()


_HTML_HEADINGS = ["h1", "h2", "h3", "h4", "h5", "h6"]
_HTML_BLOCKS = ["p", "li", "blockquote", "pre", "dd", "dt", "figcaption"]
# trafilatura's XML output: <head rend="h2">, <p>, <list><item>, <quote>, <code>
_XML_HEADINGS = ["head"]
_XML_BLOCKS = ["p", "item", "quote", "code"]


def _sections(html: str, soup: BeautifulSoup, main_text: bool) -> list[Section]:
    """Runs of paragraphs under their headings, from trafilatura's cleaned XML for web pages or
    from the page itself for rendered Markdown (every paragraph of a Markdown file is content)."""
    if main_text:
        xml = trafilatura.extract(
            html, output_format="xml", include_comments=False, include_tables=False,
            favor_recall=True, deduplicate=True,
        )  # fmt: skip
        if xml:
            return _runs(BeautifulSoup(xml, "lxml-xml"), _XML_HEADINGS, _XML_BLOCKS)
    for tag in soup(["script", "style", "noscript", "nav", "header", "footer"]):
        tag.decompose()
    return _runs(soup, _HTML_HEADINGS, _HTML_BLOCKS)


def _runs(soup: BeautifulSoup, headings: list[str], blocks: list[str]) -> list[Section]:
    sections: list[Section] = []
    heading: str | None = None
    buffer: list[str] = []
    for tag in soup.find_all(headings + blocks):
        if tag.name in blocks and tag.find(blocks):
            continue  # a container of other blocks: its leaves are read on their own
        text = " ".join(tag.get_text().split())
        if not text:
            continue
        if tag.name in headings:
            text = text.removesuffix("[edit]").strip()  # MediaWiki's edit links
            if buffer:
                sections.append(Section("\n".join(buffer), heading=heading))
                buffer = []
            heading = text
        else:
            buffer.append(text)
    if buffer:
        sections.append(Section("\n".join(buffer), heading=heading))
    return sections


def _front_matter(text: str) -> tuple[dict[str, str], str]:
    """YAML-style ``key: value`` front matter between ``---`` lines, and the rest."""
    match = re.match(r"^---\s*\n(.*?)\n---\s*\n", text, re.DOTALL)
    if not match:
        return {}, text
    fields = {}
    for line in match.group(1).splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip().lower()] = value.strip().strip("\"'")
    return fields, text[match.end() :]
