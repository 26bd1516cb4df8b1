"""The HTML of a report: one self-contained page, inline CSS and a little inline JavaScript.

Nothing is fetched: the page opens from file:// and can be mailed. The script sorts the
runs table when a header is clicked, filters it as you type (and hides the chart lines
of the runs filtered out), and honours a URL fragment `#sort=-COLUMN&filter=TEXT` by
doing the same clicks and typing.
"""
from __future__ import annotations

from html import escape

from .svg import CSS as SVG_CSS

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Sequence

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em auto;max-width:1200px;padding:0 1em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:13px}th,td{padding:2px 8px;border-bottom:1px solid #eee;text-align:left;white-space:nowrap}
td.n{text-align:right;font-variant-numeric:tabular-nums}th{cursor:pointer;background:#f4f4f4;position:sticky;top:0}
th.asc:after{content:" \\25B2"}th.desc:after{content:" \\25BC"}.scroll{overflow:auto;max-height:70vh}
.s-COMPLETE{color:#2a7a2a}.s-FAILED,.s-LOST{color:#b22}.s-RUNNING,.s-PENDING{color:#a60}.s-INTERRUPTED{color:#a0a}
.note{color:#666}.empty{font-size:1.2em;padding:2em;background:#fff4e0}input{font:inherit;padding:3px 6px;width:24em}
svg.chart{width:100%;height:auto;max-width:1000px;display:block}.line.hl{stroke-width:4}
.images{display:flex;flex-wrap:wrap;gap:1em}figure{margin:0}figure img{max-width:320px;max-height:240px;display:block}
figcaption{font-size:12px;color:#555}
"""

SCRIPT = """
(function(){
var table=document.getElementById('runs');if(!table){document.body.setAttribute('data-ready','1');return;}
var body=table.tBodies[0],heads=table.tHead.rows[0].cells;
function key(cell){var v=cell.getAttribute('data-v');if(v===null)v=cell.textContent;
 if(v==='')return null;var n=Number(v);return isNaN(n)?v.toLowerCase():n;}
function sortBy(index){
 var th=heads[index],desc=th.classList.contains('asc');
 for(var i=0;i<heads.length;i++)heads[i].classList.remove('asc','desc');th.classList.add(desc?'desc':'asc');
 var rows=Array.prototype.slice.call(body.rows);
 rows.sort(function(a,b){var x=key(a.cells[index]),y=key(b.cells[index]);
  if(x===null||y===null)return (x===null)-(y===null);
  var t=typeof x===typeof y?(x<y?-1:x>y?1:0):(typeof x==='number'?-1:1);return desc?-t:t;});
 rows.forEach(function(r){body.appendChild(r);});}
for(var i=0;i<heads.length;i++)heads[i].addEventListener('click',sortBy.bind(null,i));
var box=document.getElementById('filter'),lines=document.querySelectorAll('path.line');
function filter(){
 var terms=box.value.toLowerCase().split(/\\s+/).filter(Boolean),shown={},count=0;
 Array.prototype.forEach.call(body.rows,function(r){var text=r.textContent.toLowerCase();
  var ok=terms.every(function(t){return text.indexOf(t)>=0;});r.style.display=ok?'':'none';
  if(ok){shown[r.getAttribute('data-run')]=1;count++;}});
 Array.prototype.forEach.call(lines,function(p){var ids=p.getAttribute('data-runs').split(' ');
  p.style.display=ids.some(function(id){return shown[id];})?'':'none';});
 document.getElementById('count').textContent=count+' of '+body.rows.length+' runs';}
box.addEventListener('input',filter);
Array.prototype.forEach.call(body.rows,function(r){var id=r.getAttribute('data-run');
 r.addEventListener('mouseenter',function(){Array.prototype.forEach.call(lines,function(p){
  if(p.getAttribute('data-runs').split(' ').indexOf(id)>=0)p.classList.add('hl');});});
 r.addEventListener('mouseleave',function(){Array.prototype.forEach.call(lines,function(p){p.classList.remove('hl');});});});
var hash=decodeURIComponent(location.hash.slice(1));
hash.split('&').forEach(function(part){var kv=part.split('='),name=kv[0],value=kv.slice(1).join('=');
 if(name==='filter'){box.value=value;box.dispatchEvent(new Event('input'));}
 if(name==='sort'){var desc=value.charAt(0)==='-',col=desc?value.slice(1):value;
  for(var i=0;i<heads.length;i++)if(heads[i].textContent===col){heads[i].click();if(desc)heads[i].click();}}});
document.body.offsetHeight;  // layout done: the time to a usable page, for the benchmark
document.body.setAttribute('data-ready',Math.max(1,Math.round(performance.now())));
})();
"""


def cell(value: str, sort_value: str | None = None, *, number: bool = False, css: str = "") -> str:
    """A <td>; sort_value (data-v) is what sorting compares when it differs from the text."""
    attributes = f' data-v="{escape(sort_value)}"' if sort_value is not None else ""
    classes = " ".join(c for c in ("n" if number else "", css) if c)
    if classes:
        attributes += f' class="{classes}"'
    return f"<td{attributes}>{value}</td>"


def runs_table(columns: Sequence[str], rows: Sequence[tuple[str, Sequence[str]]]) -> str:
    """The sortable table: rows are (run id, [<td> html...])."""
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "\n".join(f'<tr data-run="{escape(run)}">{"".join(cells)}</tr>' for run, cells in rows)
    return (f'<p><input id="filter" type="search" placeholder="filter: words that every shown row contains">'
            f' <span id="count" class="note">{len(rows)} runs</span></p>'
            f'<div class="scroll"><table id="runs"><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table></div>')


def simple_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain table of html cells (not sorted by the script)."""
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_page(title: str, summary: str, sections: Sequence[tuple[str, str]]) -> str:
    """The whole page: a title, a summary paragraph, then (heading, html) sections."""
    parts = [f"<h2>{escape(heading)}</h2>\n{html}" for heading, html in sections]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{STYLE}{SVG_CSS}</style></head>\n<body>\n"
            f"<h1>{escape(title)}</h1>\n<p>{summary}</p>\n" + "\n".join(parts)
            + f"\n<script>{SCRIPT}</script>\n</body></html>\n")
