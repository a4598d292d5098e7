#!/usr/bin/env python3
"""fleet_report.py MIGRACE OUT: de-duplicate the fleet's decoded crashes
and write syzbot-style report pages.

OUT/crashes/<n>/ holds, per crash (ci/fleet.sh writes them): input (the
fuzzer's bytes), source (instance and file name), seen (UTC time),
decoded.repro, minimized.repro (if `migrace minimize` exists), replay.txt
(the output of `migrace repro` on the repro used) and status (its exit
code).  This script groups the crashes by report title and location,
finds which fix switch reverts to each (replaying with --revert none and
with each reverted fix alone), and writes

  OUT/repros/<slug>.repro      one repro per find
  OUT/pages/<slug>.md          a page per find: title, first seen, count,
                               the report with its diagram, the repro
                               file, the fix switch that reverts to it
  OUT/pages/index.md           the table of finds
  OUT/pages/*.html             the same pages as HTML (md2html below)
  OUT/finds.tsv                key, count, first seen, fix, repro

Python standard library only.
"""
import html
import os
import re
import subprocess
import sys


def read(path, default=''):
    try:
        with open(path, errors='replace') as f:
            return f.read()
    except OSError:
        return default


def normalize(s):
    """A title or location without what changes from run to run."""
    s = re.sub(r'0x[0-9a-fA-F]+', 'ADDR', s)
    s = re.sub(r'(\.[ch]):[0-9]+', r'\1:N', s)
    s = re.sub(r'\bpfn [0-9]+', 'pfn N', s)
    return s


def report_of(replay):
    """The report: from the BUG line to the end of the diagram."""
    lines = replay.split('\n')
    out = []
    on = False
    for l in lines:
        if l.startswith('BUG: migrace: '):
            on = True
        if on and (l.startswith('trace: ') or l.startswith('repro: ')):
            break
        if on:
            out.append(l.rstrip())
    return '\n'.join(out).strip('\n')


def location(report):
    """Where it was reported: the function the title names; else, in the
    reporting CPU's column of the diagram, the last function its last op
    called directly ("remove_migration_pte()", whichever op migrated), or
    that op ("read")."""
    lines = report.split('\n')
    title = lines[0] if lines else ''
    m = re.search(r' in ([A-Za-z_][A-Za-z0-9_]*\(\))', title)
    if m:
        return m.group(1)
    cpu = 0
    for l in lines:
        m = re.match(r'reported on CPU ([0-9]+)', l)
        if m:
            cpu = int(m.group(1))
    width = 40
    for l in lines:
        m = re.match(r'^CPU0( +)CPU1', l)
        if m:
            width = 4 + len(m.group(1))
    op = func = ''
    in_diagram = False
    for l in lines:
        if l.startswith('CPU0'):
            in_diagram = True
            continue
        if not in_diagram or not l.strip() or l.strip().startswith('----'):
            continue
        depth = len(l) - len(l.lstrip(' ')) - cpu * width
        m = re.match(r'([A-Za-z_][A-Za-z0-9_]*)\(', l.strip())
        if depth == 0 and m:
            op, func = m.group(1), ''
        elif depth == 2 and m:
            func = m.group(1) + '()'
    return func or op or '(no op)'


def slug(s):
    s = re.sub(r'[^a-z0-9]+', '-', s.lower()).strip('-')
    return s[:60].rstrip('-') or 'find'


def migrace_run(migrace, args):
    p = subprocess.run([migrace] + args, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, universal_newlines=True)
    return p.returncode, p.stdout


def setting_line(repro, key):
    for l in repro.split('\n'):
        if l.startswith(key + ' '):
            return l[len(key) + 1:].strip()
    return ''


def fix_titles(migrace):
    rc, out = migrace_run(migrace, ['fixes'])
    fixes = {}
    for l in out.split('\n'):
        m = re.match(r'^(\S+)\s+(\S+)\s+(.*)$', l)
        if m:
            fixes[m.group(1)] = (m.group(2), m.group(3))
    return fixes


def which_fix(migrace, path, reverted, fixes):
    """The fix switch that reverts to this find: the one reverted fix whose
    revert alone reproduces it while --revert none runs clean."""
    rc, _ = migrace_run(migrace, ['repro', path, '--revert', 'none'])
    if rc == 1:
        return None, 'reproduces with every fix in place: a finding (docs/findings.md)'
    if rc != 0:
        return None, 'with --revert none: exit %d' % rc
    names = [f for f in reverted.split(',') if f and f not in ('none', 'all')]
    if reverted == 'all':
        names = list(fixes)
    alone = []
    for f in names:
        rc, _ = migrace_run(migrace, ['repro', path, '--revert', f])
        if rc == 1:
            alone.append(f)
    if alone:
        f = alone[0]
        date, title = fixes.get(f, ('', ''))
        return f, '`%s` (%s, "%s"): reverted, it reproduces; with `--revert none` it is clean' % (f, date, title)
    return None, 'clean with --revert none; no single reverted fix reproduces it alone (%s together)' % reverted


# ---- Markdown to HTML: the subset these pages use -------------------------

def inline(s):
    s = html.escape(s, quote=False)
    s = re.sub(r'`([^`]+)`', r'<code>\1</code>', s)
    s = re.sub(r'\*\*([^*]+)\*\*', r'<strong>\1</strong>', s)
    s = re.sub(r'\[([^\]]+)\]\(([^)\s]+)\)',
               lambda m: '<a href="%s">%s</a>' % (
                   re.sub(r'\.md$', '.html', m.group(2)), m.group(1)), s)
    return s


def md2html(md, title):
    out = ['<!DOCTYPE html>', '<html lang="en"><head><meta charset="utf-8">',
           '<title>%s</title>' % html.escape(title),
           '<style>body{font-family:sans-serif;max-width:72em;margin:2em auto}'
           'pre{background:#f4f4f4;padding:1em;overflow-x:auto}'
           'table{border-collapse:collapse}td,th{border:1px solid #bbb;'
           'padding:.3em .6em;text-align:left}</style></head><body>']
    lines = md.split('\n')
    i = 0
    para = []

    def flush():
        if para:
            out.append('<p>%s</p>' % inline(' '.join(para)))
            del para[:]
    while i < len(lines):
        l = lines[i]
        if l.startswith('```'):
            flush()
            i += 1
            code = []
            while i < len(lines) and not lines[i].startswith('```'):
                code.append(lines[i])
                i += 1
            out.append('<pre><code>%s</code></pre>' % html.escape('\n'.join(code), quote=False))
            i += 1
            continue
        m = re.match(r'^(#{1,6}) (.*)$', l)
        if m:
            flush()
            n = len(m.group(1))
            out.append('<h%d>%s</h%d>' % (n, inline(m.group(2)), n))
            i += 1
            continue
        if l.startswith('|'):
            flush()
            rows = []
            while i < len(lines) and lines[i].startswith('|'):
                rows.append(lines[i])
                i += 1
            out.append('<table>')
            for k, r in enumerate(rows):
                cells = [c.strip() for c in r.strip().strip('|').split('|')]
                if k == 1 and all(re.match(r'^:?-+:?$', c) for c in cells):
                    continue
                tag = 'th' if k == 0 else 'td'
                out.append('<tr>%s</tr>' % ''.join(
                    '<%s>%s</%s>' % (tag, inline(c), tag) for c in cells))
            out.append('</table>')
            continue
        if re.match(r'^[-*] ', l):
            flush()
            out.append('<ul>')
            while i < len(lines) and re.match(r'^[-*] ', lines[i]):
                out.append('<li>%s</li>' % inline(lines[i][2:]))
                i += 1
            out.append('</ul>')
            continue
        if not l.strip():
            flush()
        else:
            para.append(l.strip())
        i += 1
    flush()
    out.append('</body></html>')
    return '\n'.join(out) + '\n'


def cell(s):
    return s.replace('|', '\\|')


def main():
    if len(sys.argv) != 3:
        print(__doc__.split('\n')[0], file=sys.stderr)
        return 2
    migrace, out = sys.argv[1], sys.argv[2]
    cdir = os.path.join(out, 'crashes')
    fixes = fix_titles(migrace)
    finds = {}
    other = {'not reproduced': [], 'harness crash': [], 'bad': []}
    for n in sorted(os.listdir(cdir)) if os.path.isdir(cdir) else []:
        d = os.path.join(cdir, n)
        status = read(os.path.join(d, 'status')).strip()
        source = read(os.path.join(d, 'source')).strip()
        seen = read(os.path.join(d, 'seen')).strip()
        repro = os.path.join(d, 'minimized.repro')
        minimized = os.path.exists(repro)
        if not minimized:
            repro = os.path.join(d, 'decoded.repro')
        if status != '1':
            kind = {'0': 'not reproduced', '3': 'harness crash'}.get(status, 'bad')
            other[kind].append((n, source, status))
            continue
        rep = report_of(read(os.path.join(d, 'replay.txt')))
        title = rep.split('\n')[0][len('BUG: migrace: '):] if rep else '(no title)'
        loc = location(rep)
        key = normalize(title) + ' | ' + loc
        f = finds.setdefault(key, {'title': title, 'loc': loc, 'crashes': [],
                                   'first': None})
        f['crashes'].append((seen, n, source, repro, minimized, rep))
    os.makedirs(os.path.join(out, 'repros'), exist_ok=True)
    pdir = os.path.join(out, 'pages')
    os.makedirs(pdir, exist_ok=True)
    rows = []
    used = set()
    for key in sorted(finds, key=lambda k: min(c[0] for c in finds[k]['crashes'])):
        f = finds[key]
        # the earliest crash is the representative (the first one seen)
        crashes = sorted(f['crashes'])
        seen, n, source, repro, minimized, rep = crashes[0]
        s = slug(normalize(f['title']))
        base = s
        k = 2
        while s in used:
            s = '%s-%d' % (base, k)
            k += 1
        used.add(s)
        text = read(repro)
        rpath = os.path.join(out, 'repros', s + '.repro')
        with open(rpath, 'w') as w:
            w.write(text)
        reverted = setting_line(text, 'revert') or 'none'
        fix, fixtext = which_fix(migrace, rpath, reverted, fixes)
        settings = 'variant %s, arch %s%s, revert %s' % (
            setting_line(text, 'variant') or 'upstream',
            setting_line(text, 'arch') or 'x86',
            ', strict' if re.search(r'^strict$', text, re.M) else '', reverted)
        page = []
        page.append('# BUG: migrace: %s' % f['title'])
        page.append('')
        page.append('[All finds](index.md)')
        page.append('')
        page.append('| Field | Value |')
        page.append('|---|---|')
        page.append('| Title | %s |' % cell(f['title']))
        page.append('| Location | `%s` |' % cell(f['loc']))
        page.append('| First seen | %s (%s) |' % (cell(seen), cell(source)))
        page.append('| Last seen | %s |' % cell(crashes[-1][0]))
        page.append('| Count | %d |' % len(crashes))
        page.append('| Settings | %s |' % cell(settings))
        page.append('| Fix switch | %s |' % cell(fixtext if fix else 'none: ' + fixtext))
        page.append('| Repro | [%s.repro](../repros/%s.repro)%s |' % (
            s, s, '' if minimized else ' (not minimized: `migrace minimize` is not available)'))
        page.append('')
        page.append('Reproduce: `migrace repro %s.repro`; with the fix: `migrace repro %s.repro --revert none`.' % (s, s))
        page.append('')
        page.append('## Report')
        page.append('')
        page.append('```')
        page.append(rep)
        page.append('```')
        page.append('')
        page.append('## Repro file')
        page.append('')
        page.append('```')
        page.append(text.rstrip('\n'))
        page.append('```')
        page.append('')
        page.append('## Crashes')
        page.append('')
        for c in crashes:
            page.append('- %s: crash %s from %s' % (c[0], c[1], c[2]))
        page.append('')
        md = '\n'.join(page)
        with open(os.path.join(pdir, s + '.md'), 'w') as w:
            w.write(md)
        with open(os.path.join(pdir, s + '.html'), 'w') as w:
            w.write(md2html(md, 'BUG: migrace: ' + f['title']))
        rows.append((f['title'], f['loc'], seen, len(crashes), fix or '-', s))
    idx = ['# migrace fleet: finds', '']
    run = read(os.path.join(out, 'run.txt')).strip()
    if run:
        idx += ['Run: %s' % run, '']
    idx.append('%d crashes, %d finds after de-duplication by title and location; '
               '%d not reproduced, %d harness crashes.' % (
                   sum(r[3] for r in rows) + sum(len(v) for v in other.values()),
                   len(rows), len(other['not reproduced']), len(other['harness crash'])))
    idx.append('')
    if rows:
        idx.append('| Title | Location | First seen | Count | Fix switch | Repro |')
        idx.append('|---|---|---|---|---|---|')
        for t, loc, seen, cnt, fix, s in rows:
            idx.append('| [%s](%s.md) | `%s` | %s | %d | %s | [%s.repro](../repros/%s.repro) |' % (
                cell(t), s, cell(loc), cell(seen), cnt, fix, s, s))
    else:
        idx.append('No finds.')
    for kind, lst in other.items():
        if lst:
            idx += ['', '## %s' % kind.capitalize(), '']
            for n, source, status in lst:
                idx.append('- crash %s from %s (replay exit %s): `crashes/%s/`' % (n, source, status, n))
    idx.append('')
    md = '\n'.join(idx)
    with open(os.path.join(pdir, 'index.md'), 'w') as w:
        w.write(md)
    with open(os.path.join(pdir, 'index.html'), 'w') as w:
        w.write(md2html(md, 'migrace fleet: finds'))
    with open(os.path.join(out, 'finds.tsv'), 'w') as w:
        for t, loc, seen, cnt, fix, s in rows:
            w.write('%s | %s\t%d\t%s\t%s\trepros/%s.repro\n' % (t, loc, cnt, seen, fix, s))
    for t, loc, seen, cnt, fix, s in rows:
        print('find: %s | %s: %d crash%s, first seen %s, fix switch %s, repros/%s.repro' % (
            t, loc, cnt, 'es' if cnt != 1 else '', seen, fix, s))
    print('report pages: %s (%d finds)' % (os.path.join(pdir, 'index.md'), len(rows)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
