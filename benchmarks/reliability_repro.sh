#!/bin/bash
# usage: benchmarks/reliability_repro.sh CODE_DIR  (a checkout of notes-qa: this one, or an older one)
# Runs each engine case of issue 12 with the fake model (tests/reliability_support.py) from CODE_DIR,
# one result line per case. Hangs are cut off by timeout (exit 124).
CODE=$1; W=$(mktemp -d); export PYTHONPATH=$CODE NOTES_QA_CACHE=$W/cache
PY=${PY:-$(cd "$(dirname "$0")/.." && pwd)/.venv/bin/python}
F() { (cd $CODE && timeout ${T:-30} $PY -m tests.reliability_support cli -- "$@"); }
notes() { rm -rf $W/n $W/i; mkdir -p $W/n; printf '# S3\n\n- durable storage\n' > $W/n/s3.md; printf '# Cache\n\n- Redis replication\n' > $W/n/cache.md; }
last() { tail -1 | cut -c1-150; }
res() { echo "$1 | rc=$2 | $3"; }
A="--corpus $W/n --index $W/i"
notes; mkdir -p $W/i; echo precious > $W/victim.txt; ln -s $W/victim.txt $W/i/.lock
out=$(F index $A 2>&1); rc=$?; res F1 $rc "victim.txt now: '$(cat $W/victim.txt)' / $(echo "$out" | last)"
notes; printf '# B\n\nbadgers\n' > $W/n/$'bad\xffname.md'
out=$(F index $A 2>&1); rc=$?; res F2-index $rc "$(echo "$out" | grep -E 'Error|error|warning' | last)"
for what in fifo-manifest fifo-vectors zero-lines zero-manifest; do
  notes; F index $A >/dev/null 2>&1; B=$(readlink -f $W/i/current)
  case $what in fifo-manifest) rm $B/manifest.json; mkfifo $B/manifest.json;; fifo-vectors) rm $B/vectors.faiss; mkfifo $B/vectors.faiss;;
    zero-lines) rm $B/lines.npy; ln -s /dev/zero $B/lines.npy;; zero-manifest) rm $B/manifest.json; ln -s /dev/zero $B/manifest.json;; esac
  out=$(T=20 F ask --no-build $A durable 2>&1); rc=$?; res "F5-$what ask --no-build" $rc "$( [ $rc = 124 ] && echo 'HANG (killed after 20 s)' || echo "$out" | last)"
  out=$(T=20 F index --full $A 2>&1); rc=$?; res "F5-$what index --full" $rc "$( [ $rc = 124 ] && echo 'HANG (killed after 20 s)' || echo "$out" | last)"
done
notes; mkdir -p $W/b/qrels; printf '{"_id": "d1", "text": "item max 400KB"}\n{"_id": "d1", "text": "item max 400KB"}\n{"_id": "d2", "text": "S3 durable"}\n' > $W/b/corpus.jsonl
printf '{"_id": "q1", "text": "item size"}\n' > $W/b/queries.jsonl; printf 'q1\td1\t1\n' > $W/b/qrels/test.tsv; echo x > $W/afile
out=$(F eval --beir $W/b --index $W/afile 2>&1); rc=$?; res "F6 eval --index FILE" $rc "$(echo "$out" | last)"
out=$(NOTES_QA_CACHE=$W/afile F eval --beir $W/b 2>&1); rc=$?; res "F6 NOTES_QA_CACHE=FILE eval" $rc "$(echo "$out" | last)"
out=$(F eval --beir $W/b --index $W/bi --mode dense --json 2>&1); rc=$?; res "F12 duplicate _id" $rc "$(echo "$out" | grep -o '"ndcg@10": [0-9.]*' | head -1) $(echo "$out" | grep warning | last)"
notes; F index $A >/dev/null 2>&1; B=$(readlink -f $W/i/current); rm $W/i/current; cp -rL $B $W/i/current
out=$(F index --full $A 2>&1); rc=$?; res "F11 index after cp -rL (1st)" $rc "$(echo "$out" | last)"
out=$(F index --full $A 2>&1); rc=$?; res "F11 index after cp -rL (2nd)" $rc "$(echo "$out" | last)"
notes; F index $A >/dev/null 2>&1; printf '# Cache\n\n- Redis sorted sets\n' > $W/n/cache.md
$PY -c "import fcntl,os,time; fd=os.open('$W/i/.lock',os.O_RDWR); fcntl.flock(fd,fcntl.LOCK_EX); open('$W/held','w').close(); time.sleep(40)" & HOLD=$!
while [ ! -e $W/held ]; do sleep 0.1; done; s=$(date +%s)
out=$(T=25 F ask $A durable 2>&1); rc=$?; res "F14 ask while another run holds the lock" $rc "$( [ $rc = 124 ] && echo "still waiting after 25 s (killed)" || echo "after $(( $(date +%s)-s )) s: $(echo "$out" | grep warning | last)")"
kill $HOLD 2>/dev/null; wait $HOLD 2>/dev/null
notes; out=$(F index --corpus $W/n --index $W/n 2>&1); rc=$?; res "F16 --index = --corpus" $rc "$(echo "$out" | last)"
notes; mkdir -p $W/priv; printf '# Secret\n\n- vault code 4242\n' > $W/priv/secret.md; ln -s $W/priv/secret.md $W/n/secret.md
out=$(F index $A 2>&1); rc=$?; res "links: note linked from outside" $rc "$(echo "$out" | grep -c warning) warnings; secret indexed: $(grep -l 4242 $W/i/current/chunks.jsonl >/dev/null && echo yes || echo no)"
rm -rf $W
