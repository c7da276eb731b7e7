#!/usr/bin/perl
# Runs the examples of Markdown documents (README.md, docs/*.md) against a PostgreSQL cluster: "docs that run".
# Called by pg_test/client/docs_examples.sh; connection from the usual PG* variables (a superuser, as the other
# client tests). Usage: perl pg_test/docs/run_docs.pl [--list] FILE.md...
#
# Every fenced block tagged ```sql, ```bash, ```sh or ```shell is an example and is executed, in document order:
#   * each file gets a fresh scratch database (default name `llmgw`, the name the docs use; CREATE DATABASE, then
#     CREATE EXTENSION pg_rbac), dropped at the end of the file;
#   * SQL blocks go through psql (`\i`, `\set`, `\gset` work; the working directory is the repository root),
#     connected to the scratch database as the superuser, after `SET ROLE <as>` when the block says whom it runs as;
#   * shell blocks run under `bash -e -o pipefail` in a per-file scratch directory, with PGDATABASE set to the
#     scratch database and pg_test/docs/bin first in PATH (a `curl` that serves fixture files instead of the
#     network);
#   * databases and roles that did not exist when a file started are dropped when it ends (also after failures),
#     so examples may CREATE ROLE the logins they talk about.
# Untagged fences (signatures, diagrams, pseudo-code, configuration files) are not run; one whose first line is a
# shell command is reported as a failure, so an example cannot escape the test by losing its tag. Relative links to
# a missing file or heading are failures too.
#
# A block may be preceded (directly, one per line) by invisible markers `<!-- docs-test: DIRECTIVES -->`:
#   as=ROLE              SQL: run after SET ROLE ROLE; shell: PGUSER=ROLE (a login). as=superuser, or no `as`:
#                        the connecting superuser.
#   expect="TEXT"        some result row has these column values (TEXT = "col=value[, col=value]"), or, for any
#                        other TEXT, the output contains TEXT. Repeatable. `…` in a value matches anything.
#   expect-error=CODES   the block raises exactly these SQLSTATEs, in order (comma-separated); it keeps running
#                        after an error (ON_ERROR_STOP off). Without it every error fails the block.
#   expect-exit=N        shell: the exit status (default 0).
#   ignore=COLS          columns not compared with the result table the text shows (random ids, times).
#   params=(V1, V2, …)   SQL literals substituted for $1, $2, … (the text shows bind parameters).
#   fixture=NAME         run pg_test/docs/NAME.sql in the scratch database as the superuser first. Repeatable.
#   new-db[=empty]       start from a new scratch database first (=empty: without CREATE EXTENSION pg_rbac).
#   db=NAME              run in database NAME instead of the scratch database.
#   skip REASON          do not run the block; REASON is required and printed.
# Result tables: a statement followed by comment lines that contain `|` (`--  allowed | reason`, `--  t | ok`)
# shows its result; those lines are compared with the result of the last query before them (a first line made
# of column names is a header; cells are trimmed; `…` in a cell matches anything).
use strict;
use warnings;
use File::Temp qw(tempdir);
use File::Basename qw(dirname);
use Cwd qw(abs_path);

my $here = dirname(abs_path($0));
my $root = abs_path("$here/../..");
my $scratch_db = $ENV{DOCS_DB} // 'llmgw';
my $timeout = $ENV{DOCS_TIMEOUT} // 180;
my $list_only = 0;
my @files;
for (@ARGV) { if ($_ eq '--list') { $list_only = 1 } else { push @files, $_ } }
die "usage: run_docs.pl [--list] FILE.md...\n" unless @files;

my ($passed, $failed, $skipped) = (0, 0, 0);
# a comment line that shows a result row: cells separated by ` | ` (`--  t | 200 | ok`, `--  allowed | reason`)
my $result_re = qr/^\s*--.*\s\|(?:\s|$)/;
my $shell_cmd_re = qr/^\s*(?:\$\s+)?(?:bash|sh|psql|pg_dump|pg_dumpall|pg_restore|pg_ctl|createdb|dropdb|createuser|cargo|curl|sudo|apt-get|apt|PGOPTIONS=\S*|export|cd|git|make|crontab)\b/;

sub trim { my $s = shift // ''; $s =~ s/^\s+|\s+$//g; $s }

# --- parsing -------------------------------------------------------------------------------------------------

sub parse_directives {
  my ($text, $where) = @_;
  my %d = (expect => [], fixture => []);
  $text = trim($text);
  if ($text =~ /^skip\b\s*[:\-]?\s*(.*)$/s) {
    my $reason = trim($1);
    $reason =~ s/^\((.*)\)$/$1/s;
    die "$where: `skip` needs a reason\n" if $reason eq '';
    $d{skip} = $reason;
    return \%d;
  }
  while ($text ne '') {
    if ($text =~ s/^([a-z-]+)=\(((?:[^()']|'(?:[^']|'')*')*)\)\s*//) { $d{$1} = $2; }
    elsif ($text =~ s/^([a-z-]+)="((?:[^"\\]|\\.)*)"\s*//) { my ($k, $v) = ($1, $2); $v =~ s/\\(.)/$1/g; push_dir(\%d, $k, $v); }
    elsif ($text =~ s/^([a-z-]+)='([^']*)'\s*//) { push_dir(\%d, $1, $2); }
    elsif ($text =~ s/^([a-z-]+)=(\S+)\s*//) { push_dir(\%d, $1, $2); }
    elsif ($text =~ s/^([a-z-]+)\s*//) { push_dir(\%d, $1, 1); }
    else { die "$where: cannot read docs-test directive near: $text\n"; }
  }
  for my $k (keys %d) {
    die "$where: unknown docs-test directive `$k`\n"
      unless $k =~ /^(as|expect|expect-error|expect-exit|ignore|params|fixture|new-db|db|skip)$/;
  }
  return \%d;
}

sub push_dir {
  my ($d, $k, $v) = @_;
  if (ref $d->{$k} eq 'ARRAY') { push @{$d->{$k}}, $v } else { $d->{$k} = $v }
}

sub parse_file {
  my ($file) = @_;
  open my $fh, '<', $file or die "$file: $!\n";
  my @lines = <$fh>;
  close $fh;
  chomp @lines;
  my @blocks;
  my $i = 0;
  while ($i < @lines) {
    my $l = $lines[$i];
    if ($l =~ /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)\s*$/) {
      my ($indent, $fence, $lang) = (length $1, $2, lc $3);
      my $start = $i + 1;
      # markers: the lines directly above the fence
      my @markers;
      my $j = $i - 1;
      while ($j >= 0 && $lines[$j] =~ /^\s*<!--\s*docs-test:(.*?)-->\s*$/) { unshift @markers, $1; $j--; }
      my @body;
      $i++;
      my $fc = substr($fence, 0, 1);
      my $flen = length $fence;
      while ($i < @lines && $lines[$i] !~ /^\s*\Q$fc\E{$flen,}\s*$/) {
        my $b = $lines[$i];
        $b =~ s/^ {0,$indent}//;
        push @body, $b;
        $i++;
      }
      $i++;   # the closing fence
      my %dir = (expect => [], fixture => []);
      for my $m (@markers) {
        my $d = parse_directives($m, "$file:$start");
        for my $k (keys %$d) {
          if (ref $d->{$k} eq 'ARRAY') { push @{$dir{$k}}, @{$d->{$k}} } else { $dir{$k} = $d->{$k} }
        }
      }
      push @blocks, { file => $file, line => $start, lang => $lang, body => [@body], dir => \%dir };
      next;
    }
    $i++;
  }
  return @blocks;
}

# --- running -------------------------------------------------------------------------------------------------

sub run_cmd {   # (argv ref, stdin text, env ref, cwd) -> (exit status, stdout, stderr)
  my ($argv, $stdin, $env, $cwd) = @_;
  my $dir = tempdir(CLEANUP => 1);
  open my $in, '>', "$dir/in" or die; print $in ($stdin // ''); close $in;
  my $pid = fork();
  die "fork: $!" unless defined $pid;
  if ($pid == 0) {
    open STDIN, '<', "$dir/in" or die; open STDOUT, '>', "$dir/out" or die; open STDERR, '>', "$dir/err" or die;
    $ENV{PGTZ} = 'UTC';   # the docs show times in UTC
    $ENV{$_} = $env->{$_} for keys %{$env // {}};
    delete $ENV{$_} for grep { !defined $env->{$_} } keys %{$env // {}};
    chdir($cwd // $root) or die "chdir: $!";
    exec('timeout', $timeout, @$argv) or die "exec: $!";
  }
  waitpid($pid, 0);
  my $rc = $? >> 8;
  local $/;
  open my $o, '<', "$dir/out"; my $out = <$o> // ''; close $o;
  open my $e, '<', "$dir/err"; my $err = <$e> // ''; close $e;
  return ($rc, $out, $err);
}

sub psql_admin {   # runs SQL as the superuser; dies on error
  my ($db, $sql) = @_;
  my ($rc, $out, $err) = run_cmd(['psql', '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', $db], $sql);
  die "psql ($db): $err\n" if $rc != 0;
  return $out;
}

sub sql_list { join(', ', map { my $s = $_; $s =~ s/'/''/g; "'$s'" } @_) }

sub snapshot {
  my %s;
  $s{roles} = { map { $_ => 1 } split /\n/, psql_admin('postgres', 'SELECT rolname FROM pg_roles') };
  $s{dbs} = { map { $_ => 1 } split /\n/, psql_admin('postgres', 'SELECT datname FROM pg_database') };
  return \%s;
}

sub cleanup_since {   # drops databases and roles that did not exist in $snap; returns a list of problems
  my ($snap) = @_;
  my @problems;
  my $now = snapshot();
  for my $db (sort grep { !$snap->{dbs}{$_} } keys %{$now->{dbs}}) {
    my ($rc, undef, $err) = run_cmd(['psql', '-X', '-q', '-d', 'postgres', '-c', qq{DROP DATABASE "$db" WITH (FORCE)}]);
    push @problems, "could not drop database $db: $err" if $rc;
  }
  for my $role (sort grep { !$snap->{roles}{$_} } keys %{$now->{roles}}) {
    my ($rc, undef, $err) = run_cmd(['psql', '-X', '-q', '-d', 'postgres', '-c', qq{DROP ROLE "$role"}]);
    push @problems, "could not drop role $role: $err" if $rc;
  }
  return @problems;
}

sub fresh_db {
  my ($with_extension) = @_;
  psql_admin('postgres', qq{DROP DATABASE IF EXISTS "$scratch_db" WITH (FORCE)});
  psql_admin('postgres', qq{CREATE DATABASE "$scratch_db"});
  psql_admin($scratch_db, 'CREATE EXTENSION pg_rbac') if $with_extension;
}

# psql -A output -> list of result sets { header => [..], rows => [[..], ..] }; text between them is ignored
sub result_sets {
  my ($text) = @_;
  my @sets;
  my @pending;
  for my $line (split /\n/, $text) {
    if ($line =~ /^\((\d+) rows?\)$/) {
      my $n = $1;
      if (@pending >= $n + 1) {
        my @rows = @pending[-$n .. -1];
        my $header = $pending[-$n - 1];
        push @sets, { header => [map { trim($_) } split /\|/, $header, -1],
                      rows => [map { [map { trim($_) } split /\|/, $_, -1] } @rows] };
      }
      @pending = ();
    } else {
      push @pending, $line;
    }
  }
  return @sets;
}

sub cell_matches {
  my ($expected, $actual) = @_;
  return 1 if $expected eq $actual;
  if ($expected =~ /…/) {
    my $re = join('.*', map { quotemeta } split /…/, $expected, -1);
    return $actual =~ /^$re$/s;
  }
  return 0;
}

# Compares the table a doc shows with a result set; returns an error text or ''.
sub compare_table {
  my ($expected_lines, $set, $ignore) = @_;
  my @exp = map { my $l = $_; $l =~ s/^\s*--\s?//; [map { trim($_) } split /\|/, $l, -1] } @$expected_lines;
  return "the text shows a result, but the statement returned no rows" unless $set;
  my %pos;
  @pos{@{$set->{header}}} = (0 .. $#{$set->{header}});
  my @cols;
  if (@exp && !grep { !exists $pos{$_} } @{$exp[0]}) {   # a header line: compare by column name
    @cols = @{shift @exp};
  } else {
    @cols = @{$set->{header}};
  }
  my $shown = join("\n", map { "    --  " . join(' | ', @$_) } @exp);
  my $got = join("\n", map { "    " . join(' | ', @$_) } ($set->{header}, @{$set->{rows}}));
  return "the text shows " . scalar(@exp) . " row(s), the query returned " . scalar(@{$set->{rows}}) . "\n  shown:\n$shown\n  got:\n$got"
    if @exp != @{$set->{rows}};
  for my $r (0 .. $#exp) {
    return "row " . ($r + 1) . " shows " . scalar(@{$exp[$r]}) . " cells for " . scalar(@cols) . " columns\n  shown:\n$shown\n  got:\n$got"
      if @{$exp[$r]} != @cols;
    for my $c (0 .. $#cols) {
      next if $ignore->{$cols[$c]};
      my $actual = $set->{rows}[$r][$pos{$cols[$c]}];
      return "column $cols[$c], row " . ($r + 1) . ": the text shows '$exp[$r][$c]', the query returned '$actual'\n  shown:\n$shown\n  got:\n$got"
        unless cell_matches($exp[$r][$c], $actual);
    }
  }
  return '';
}

sub check_expects {   # returns a list of unmet expectations
  my ($expects, $out, $err) = @_;
  my @sets = result_sets($out);
  my @missing;
  for my $e (@$expects) {
    my @pairs = map { trim($_) } split /,\s*(?=[\w.]+=)/, $e;
    if (@pairs && !grep { !/^[\w.]+=/ } @pairs) {
      my %want = map { /^([\w.]+)=(.*)$/s; ($1 => trim($2)) } @pairs;
      my $hit = 0;
      SET: for my $s (@sets) {
        my %pos; @pos{@{$s->{header}}} = (0 .. $#{$s->{header}});
        next if grep { !exists $pos{$_} } keys %want;
        for my $row (@{$s->{rows}}) {
          if (!grep { !cell_matches($want{$_}, $row->[$pos{$_}] // '') } keys %want) { $hit = 1; last SET; }
        }
      }
      push @missing, "expected a row with $e" unless $hit;
    } else {
      push @missing, "expected the output to contain \"$e\"" unless index("$out\n$err", $e) >= 0;
    }
  }
  return @missing;
}

sub short { my ($t, $n) = @_; my @l = split /\n/, $t; @l = (@l[0 .. $n - 1], "… (" . (@l - $n) . " more lines)") if @l > $n; join("\n", map { "    $_" } @l) }

sub run_sql_block {
  my ($b, $db) = @_;
  my $d = $b->{dir};
  my @body = @{$b->{body}};
  my $text = join("\n", @body);
  if (defined $d->{params}) {
    my @vals = map { trim($_) } ($d->{params} =~ /((?:[^,']|'(?:[^']|'')*')+)/g);
    $text =~ s/\$(\d+)/defined $vals[$1 - 1] ? $vals[$1 - 1] : die "$b->{file}:$b->{line}: no value for \$$1\n"/ge;
    @body = split /\n/, $text, -1;
  }
  # segments: split after each group of result-comment lines, so the output of each shown result is known
  my (@segments, @cur, @tables);
  for my $k (0 .. $#body) {
    my $l = $body[$k];
    push @cur, $l;
    my $is_result = ($l =~ $result_re);
    my $next_is_result = ($k < $#body && $body[$k + 1] =~ $result_re);
    if ($is_result && !$next_is_result) {
      my @group;
      for (my $m = $#cur; $m >= 0 && $cur[$m] =~ $result_re; $m--) { unshift @group, $cur[$m]; }
      push @segments, [@cur]; push @tables, [@group]; @cur = ();
    }
  }
  push @segments, [@cur] if @cur;
  my $input = '';
  $input .= qq{SET ROLE "$d->{as}";\n} if $d->{as} && $d->{as} ne 'superuser';
  for my $s (0 .. $#segments) { $input .= join("\n", @{$segments[$s]}) . "\n\\echo '\@\@docs-segment-$s\@\@'\n"; }
  my $stop = defined $d->{'expect-error'} ? 0 : 1;
  my ($rc, $out, $err) = run_cmd(['psql', '-X', '-q', '-A', '-P', 'footer=on', '-P', 'pager=off', '-v', "ON_ERROR_STOP=$stop",
                                  '-v', 'VERBOSITY=verbose', '-v', 'SHOW_CONTEXT=never', '-d', $db, '-f', '-'],
                                 $input, { PATH => "$here/bin:$ENV{PATH}" }, $root);
  my @problems;
  my @codes = ($err =~ /(?:ERROR|FATAL):\s+([0-9A-Z]{5}):/g);
  if (defined $d->{'expect-error'}) {
    my $want = join(',', map { trim($_) } split /,/, $d->{'expect-error'});
    push @problems, "expected SQLSTATE(s) $want, got " . (@codes ? join(',', @codes) : 'no error') if join(',', @codes) ne $want;
  } elsif ($rc != 0 || @codes) {
    push @problems, "psql failed (exit $rc)" . (@codes ? ", SQLSTATE " . join(',', @codes) : '');
  }
  my %ignore = map { trim($_) => 1 } split /,/, ($d->{ignore} // '');
  my @parts = split /^\@\@docs-segment-\d+\@\@\n?/m, $out, -1;
  for my $t (0 .. $#tables) {
    my @sets = result_sets($parts[$t] // '');
    my $why = compare_table($tables[$t], $sets[-1], \%ignore);
    push @problems, "result table ending at line " . ($b->{line} + line_of(\@segments, $t)) . ": $why" if $why;
  }
  push @problems, check_expects($d->{expect}, $out, $err);
  return (\@problems, $out, $err);
}

sub line_of { my ($segs, $t) = @_; my $n = 0; $n += @{$segs->[$_]} for 0 .. $t; $n }

sub run_shell_block {
  my ($b, $db, $workdir) = @_;
  my $d = $b->{dir};
  my $script = "set -eo pipefail\n" . join("\n", @{$b->{body}}) . "\n";
  my %env = (PGDATABASE => $db, PATH => "$here/bin:$ENV{PATH}", DOCS_REPO => $root);
  $env{PGUSER} = $d->{as} if $d->{as} && $d->{as} ne 'superuser';
  my ($rc, $out, $err) = run_cmd(['bash', '-c', $script], '', \%env, $workdir);
  my @problems;
  my $want = $d->{'expect-exit'} // 0;
  push @problems, "exit status $rc, expected $want" if $rc != $want;
  push @problems, check_expects($d->{expect}, $out, $err);
  return (\@problems, $out, $err);
}

# GitHub's heading anchors of a Markdown file
sub anchors_of {
  my ($path) = @_;
  my %a;
  local $/ = "\n";
  open my $fh, '<:encoding(UTF-8)', $path or return \%a;
  my $fence = 0;
  while (my $l = <$fh>) {
    if ($l =~ /^\s*(```|~~~)/) { $fence = !$fence; next }
    next if $fence;
    if ($l =~ /^#+\s+(.*?)\s*$/) {
      my $t = lc $1;
      $t =~ s/[^\w\- ]//g;
      $t =~ s/ /-/g;
      $a{$t} = 1;
    }
  }
  return \%a;
}

# Relative links that lead nowhere: a missing file, or a missing heading anchor in a Markdown file.
sub broken_links {
  my ($file) = @_;
  open my $fh, '<:encoding(UTF-8)', $file or return ();
  local $/;
  my $text = <$fh>;
  $text =~ s/^\s*(```|~~~).*?^\s*\1\s*$//msg;   # not inside code blocks
  my @broken;
  while ($text =~ /\]\(([^)\s]+)\)/g) {
    my $target = $1;
    next if $target =~ m{^[a-z]+:};
    my ($path, $anchor) = split /#/, $target, 2;
    my $resolved = $path eq '' ? $file : dirname($file) . "/$path";
    if (!-e $resolved) { push @broken, "$target (no such file)"; next }
    push @broken, "$target (no such heading)"
      if defined $anchor && $resolved =~ /\.md$/ && !anchors_of($resolved)->{$anchor};
  }
  return @broken;
}

sub report {
  my ($status, $b, $note) = @_;
  my $as = $b->{dir}{as} ? " as $b->{dir}{as}" : '';
  printf "%-4s %s:%d %s%s%s\n", $status, $b->{file}, $b->{line}, $b->{lang}, $as, $note ? " — $note" : '';
}

for my $file (@files) {
  my @blocks = parse_file($file);
  if ($list_only) {
    for my $b (@blocks) {
      my $d = $b->{dir};
      my $first = (grep { /\S/ } @{$b->{body}})[0] // '';
      printf "%s:%d %s %s | %s\n", $file, $b->{line}, $b->{lang} || '-',
        join(' ', map { my $v = $d->{$_}; "$_=" . (ref $v ? join('/', @$v) : $v) } grep { ref $d->{$_} ? @{$d->{$_}} : 1 } sort keys %$d),
        substr(trim($first), 0, 70);
    }
    next;
  }
  for my $l (broken_links($file)) { $failed++; print "FAIL $file: broken link $l\n"; }
  my $snap = snapshot();
  die "run_docs: database $scratch_db exists already; refusing to replace it (set DOCS_DB)\n" if $snap->{dbs}{$scratch_db};
  my $workdir = tempdir(CLEANUP => 1);
  chmod 0777, $workdir;
  my $fresh = 1;
  my $first_runnable = (grep { $_->{lang} =~ /^(sql|bash|sh|shell)$/ && !defined $_->{dir}{skip} } @blocks)[0];
  eval {
    fresh_db(!($first_runnable && ($first_runnable->{dir}{'new-db'} // '') eq 'empty'));
    for my $b (@blocks) {
      my $d = $b->{dir};
      if ($b->{lang} !~ /^(sql|bash|sh|shell)$/) {
        my $first = (grep { /\S/ } @{$b->{body}})[0] // '';
        if ($first =~ $shell_cmd_re && !defined $d->{skip}) {
          $failed++;
          report('FAIL', $b, "a shell command in a fence tagged '" . ($b->{lang} || 'nothing') . "': tag it ```bash so it is run (or mark it skip with a reason)");
        }
        next;
      }
      if (defined $d->{skip}) { $skipped++; report('skip', $b, $d->{skip}); next; }
      if ($d->{'new-db'} && $b != $first_runnable) { fresh_db($d->{'new-db'} ne 'empty'); }
      my $db = $d->{db} // $scratch_db;
      for my $f (@{$d->{fixture}}) {
        my ($rc, undef, $err) = run_cmd(['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $db, '-f', "$here/$f.sql"],
                                        '', { PATH => "$here/bin:$ENV{PATH}" }, $root);
        die "$b->{file}:$b->{line}: fixture $f failed:\n$err\n" if $rc;
      }
      my ($problems, $out, $err) = $b->{lang} eq 'sql' ? run_sql_block($b, $db) : run_shell_block($b, $db, $workdir);
      if (@$problems) {
        $failed++;
        report('FAIL', $b);
        print "  $_\n" for map { s/\n/\n  /gr } @$problems;
        print "  block:\n", short(join("\n", @{$b->{body}}), 12), "\n";
        (my $o = $out) =~ s/^\@\@docs-segment-\d+\@\@\n?//mg;
        print "  output:\n", short($o, 25), "\n" if $o =~ /\S/;
        print "  errors:\n", short(join("\n", grep { !/^\s+\d+: |^\s+at / } split /\n/, $err), 15), "\n" if $err =~ /\S/;
      } else {
        $passed++;
        report('ok', $b);
      }
    }
  };
  if ($@) { $failed++; print "FAIL $file: $@"; }
  for my $p (cleanup_since($snap)) { $failed++; print "FAIL $file: $p"; }
}
exit 0 if $list_only;
print "docs: $passed passed, $failed failed, $skipped skipped\n";
exit($failed ? 1 : 0);
