# -*- coding: utf-8 -*-
"""Benchmark: model_weights staging against the way it is done by hand (rsync -a, then sha256sum -c).

Generates a model of --size-gib (>= 4) in --shards (>= 4) safetensors-like shards plus small
config/tokenizer files under a temporary directory (on /var/tmp by default, deleted afterwards),
then, side by side in one run, cold caches between phases when we may drop them:

  disk      dd write (buffered + conv=fdatasync, and oflag=direct) and dd read (iflag=direct)
  by hand   rsync -a src/ dst/; sync; sha256sum -c SHA256SUMS in dst/
  staging   the model_weights module (source=directory, full checks: hash while copying, O_DIRECT
            writes, fsync, read back from the storage, manifest, marker) run as a child process, its
            peak RSS and CPU measured with wait4; then the no-op re-run (cold and warm page cache);
            then state=verified (every file hashed)

rsync and staging run back to back in each of --rounds rounds, alternating which goes first, after
the previous copy was deleted and the disk left to settle (--settle seconds).

Prints figures only; no assertions. Not part of the test suite. Run it as root to drop the page
cache between phases (``echo 3 > /proc/sys/vm/drop_caches``); otherwise it says so.

    . .venv/bin/activate && python benchmarks/staging.py [--size-gib 4] [--shards 4] [--workers 4]
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULE = os.path.join(ROOT, "plugins", "modules", "model_weights.py")
COLLECTIONS = os.path.join(ROOT, ".collections")
MIB = 1024 * 1024
GIB = 1024 * MIB


def drop_caches():
    """sync, then drop the page cache; True when it could be dropped."""
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w") as handle:
            handle.write("3\n")
        return True
    except OSError:
        return False


CPU = {}  # user+system CPU seconds of the last child run per program


def run_child(argv, env=None):
    """Run argv; return (wall seconds, peak RSS in MiB of that child alone, stdout)."""
    with tempfile.TemporaryFile() as errfile:
        started = time.monotonic()
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=errfile, env=env, cwd=ROOT)
        stdout = proc.stdout.read()
        dummy, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage; ru_maxrss is in KiB on Linux
        wall = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        proc.stdout.close()
        if proc.returncode != 0:
            errfile.seek(0)
            raise SystemExit("%s failed (rc=%s):\n%s\n%s" % (" ".join(argv[:3]), proc.returncode,
                                                             stdout.decode()[-3000:], errfile.read().decode()[-3000:]))
    CPU[argv[0] if argv[0] != sys.executable else "staging"] = usage.ru_utime + usage.ru_stime
    return wall, usage.ru_maxrss / 1024.0, stdout.decode()


def generate(src, size, shards):
    """Shards of pseudo-random bytes (distinct per chunk, incompressible), small json files, SHA256SUMS."""
    os.makedirs(src)
    block = os.urandom(16 * MIB)
    view = memoryview(block)
    per_shard = size // shards
    sums = {}
    for i in range(1, shards + 1):
        name = "model-%05d-of-%05d.safetensors" % (i, shards)
        sha = hashlib.sha256()
        with open(os.path.join(src, name), "wb", buffering=0) as handle:
            left = per_shard
            n = 0
            while left > 0:
                stamp = b"%016d%016d" % (i, n)
                chunk = min(left, len(block))
                head = stamp[:chunk]
                handle.write(head)
                sha.update(head)
                if chunk > len(head):
                    handle.write(view[len(head):chunk])
                    sha.update(view[len(head):chunk])
                left -= chunk
                n += 1
        sums[name] = sha.hexdigest()
    small = {
        "config.json": json.dumps({"architectures": ["LlamaForCausalLM"], "num_hidden_layers": shards}),
        "generation_config.json": json.dumps({"bos_token_id": 1, "eos_token_id": 2}),
        "tokenizer.json": json.dumps({"model": {"vocab": {"t%d" % i: i for i in range(50000)}}}),
        "tokenizer_config.json": json.dumps({"model_max_length": 131072}),
        "model.safetensors.index.json": json.dumps({"weight_map": {"layer.%d" % i: "model-%05d-of-%05d.safetensors"
                                                                   % (i, shards) for i in range(1, shards + 1)}}),
    }
    for name, text in small.items():
        data = text.encode()
        with open(os.path.join(src, name), "wb") as handle:
            handle.write(data)
        sums[name] = hashlib.sha256(data).hexdigest()
    return sums


def dd_speeds(workdir, source):
    """dd with 8 MiB blocks: write ``source``'s incompressible bytes (already in the page cache) with
    conv=fdatasync, buffered and with oflag=direct, then read them back with iflag=direct. MB/s."""
    path = os.path.join(workdir, "dd.bin")
    with open(source, "rb") as handle:  # warm the page cache so that the write test reads from memory
        while handle.read(8 * MIB):
            pass

    def rate(argv):
        out = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                             check=True).stderr.strip().splitlines()[-1]
        return float(out.split(" bytes")[0]) / float(out.split(" s,")[0].split(", ")[-1]) / 1e6

    write = rate(["dd", "if=" + source, "of=" + path, "bs=8M", "conv=fdatasync"])
    os.unlink(path)
    os.sync()
    write_direct = rate(["dd", "if=" + source, "of=" + path, "bs=8M", "oflag=direct", "conv=fdatasync"])
    drop_caches()
    read = rate(["dd", "if=" + path, "of=/dev/null", "bs=8M", "iflag=direct"])
    os.unlink(path)
    return write, write_direct, read


def stage(args_file, env):
    return run_child([sys.executable, MODULE, args_file], env=env)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-gib", type=float, default=4.0)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--chunk-mib", type=int, default=8)
    parser.add_argument("--workdir", default="/var/tmp")
    parser.add_argument("--rounds", type=int, default=1, help="rsync/staging rounds, alternating which goes first")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds of rest before each timed copy")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    opts = parser.parse_args()
    size = int(opts.size_gib * GIB)
    if opts.size_gib < 4 or opts.shards < 4:
        print("note: below the 4 GiB / 4 shards the figures are meant for")
    for tool in ("rsync", "sha256sum", "dd"):
        if not shutil.which(tool):
            raise SystemExit("%s is needed (apt-get install %s)" % (tool, tool))
    work = tempfile.mkdtemp(prefix="weights-bench-", dir=opts.workdir)
    env = dict(os.environ, PYTHONPATH=COLLECTIONS + os.pathsep + os.environ.get("PYTHONPATH", ""))
    try:
        src = os.path.join(work, "src")
        print("generating %.1f GiB in %d shards under %s ..." % (size / GIB, opts.shards, work), flush=True)
        t0 = time.monotonic()
        sums = generate(src, size, opts.shards)
        total = sum(os.path.getsize(os.path.join(src, n)) for n in sums)
        with open(os.path.join(work, "SHA256SUMS"), "w") as handle:
            for name, digest in sorted(sums.items()):
                handle.write("%s  %s\n" % (digest, name))
        print("  generated in %.1f s" % (time.monotonic() - t0), flush=True)

        dropped = drop_caches()
        disk_write_buffered, disk_write_direct, disk_read = dd_speeds(work, os.path.join(src, "model-00001-of-%05d.safetensors" % opts.shards))

        # -- rsync and staging side by side (alternating which goes first when --rounds > 1) ------
        rsync_dir = os.path.join(work, "rsync")
        dest = os.path.join(work, "share", "model")
        args_file = os.path.join(work, "args.json")
        with open(args_file, "w") as handle:
            json.dump({"ANSIBLE_MODULE_ARGS": {"source": "directory", "src": src, "dest": dest,
                                               "require_mount": False, "workers": opts.workers,
                                               "chunk_mib": opts.chunk_mib}}, handle)
        rounds = []
        for number in range(opts.rounds):
            order = ("rsync", "staging") if number % 2 == 0 else ("staging", "rsync")
            figures = {}
            for what in order:
                target = rsync_dir if what == "rsync" else os.path.join(work, "share")
                shutil.rmtree(target, ignore_errors=True)
                drop_caches()
                time.sleep(opts.settle)  # let the deletion (and its discards) finish before timing
                if what == "rsync":
                    figures["rsync_s"], figures["rsync_rss"], dummy = run_child(["rsync", "-a", src + "/",
                                                                                 rsync_dir + "/"])
                    figures["rsync_cpu"] = CPU["rsync"]
                    t0 = time.monotonic()
                    os.sync()
                    figures["sync_s"] = time.monotonic() - t0
                else:
                    figures["stage_s"], figures["stage_rss"], out = stage(args_file, env)
                    figures["stage_cpu"] = CPU["staging"]
                    figures["first"] = json.loads(out)
            print("  round %d (%s first): rsync -a %.2f s, staging %.2f s, ratio %.2f"
                  % (number + 1, order[0], figures["rsync_s"], figures["stage_s"],
                     figures["stage_s"] / figures["rsync_s"]), flush=True)
            rounds.append(figures)
        last = rounds[-1]
        rsync_s, rsync_rss, sync_s = last["rsync_s"], last["rsync_rss"], last["sync_s"]
        stage_s, stage_rss, first = last["stage_s"], max(r["stage_rss"] for r in rounds), last["first"]
        ratios = sorted(r["stage_s"] / r["rsync_s"] for r in rounds)
        half = len(ratios) // 2
        median_ratio = ratios[half] if len(ratios) % 2 else (ratios[half - 1] + ratios[half]) / 2

        # -- the verification by hand, the no-op re-run, state=verified -----------------------
        drop_caches()
        sha_s = run_child(["sh", "-c", "cd %s && sha256sum -c --quiet %s" % (
            rsync_dir, os.path.join(work, "SHA256SUMS"))])[0]
        drop_caches()
        noop_s, noop_rss, out = stage(args_file, env)  # cold: python and ansible are read from disk again
        noop = json.loads(out)
        warm_s, dummy, out = stage(args_file, env)  # warm: as on a jump box that just ran ansible
        warm = json.loads(out)
        with open(args_file, "w") as handle:
            json.dump({"ANSIBLE_MODULE_ARGS": {"state": "verified", "dest": dest, "require_mount": False,
                                               "workers": opts.workers, "chunk_mib": opts.chunk_mib}}, handle)
        drop_caches()
        verify_s, verify_rss, out = stage(args_file, env)
        verified = json.loads(out)
        assert not first.get("failed") and not noop.get("changed") and not warm.get("changed")
        assert not verified.get("failed")
        # python + ansible start-up alone, for reading the no-op figure
        startup_s = run_child([sys.executable, "-c", "import ansible.module_utils.basic"], env=env)[0]

        # -- figures ------------------------------------------------------------------------
        mib = total / MIB
        print()
        print("model: %.2f GiB, %d files (%d shards of %.2f GiB); workers=%d, chunk=%d MiB; %s"
              % (total / GIB, len(sums), opts.shards, size / opts.shards / GIB, opts.workers, opts.chunk_mib,
                 "page cache dropped before every phase" if dropped else
                 "page cache NOT dropped (not allowed): figures favour later phases"))
        disk_write = max(disk_write_buffered, disk_write_direct)
        print("disk limit (dd 8M): write %.0f MB/s buffered + conv=fdatasync, %.0f MB/s oflag=direct; read %.0f MB/s "
              "iflag=direct" % (disk_write_buffered, disk_write_direct, disk_read))
        print("load average at the end: %s (%d CPUs): other work on this machine slows every phase"
              % (" ".join(open("/proc/loadavg").read().split()[:3]), os.cpu_count()))
        print()
        rows = [
            ("rsync -a", rsync_s, "%.0f MiB/s, peak RSS %.0f MiB, %.1f CPU-s, data not yet flushed"
             % (mib / rsync_s, rsync_rss, last["rsync_cpu"])),
            ("sync after rsync", sync_s, "flushing what rsync left dirty"),
            ("sha256sum -c", sha_s, "%.0f MiB/s" % (mib / sha_s)),
            ("by hand: rsync + sync + sha256sum -c", rsync_s + sync_s + sha_s, ""),
            ("staging (hash+fsync+read back+manifest)", stage_s,
             "%.0f MiB/s, peak RSS %.0f MiB, %.1f CPU-s; module says %.2f s, read back %d MiB"
             % (mib / stage_s, stage_rss, last["stage_cpu"], first["seconds"], first["bytes_read_back"] // MIB)),
            ("staging no-op re-run, cold cache", noop_s, "peak RSS %.0f MiB; module says %.3f s"
             % (noop_rss, noop["seconds"])),
            ("staging no-op re-run, warm cache", warm_s, "module says %.3f s; python+ansible start-up alone %.3f s"
             % (warm["seconds"], startup_s)),
            ("verify (state=verified)", verify_s, "%.0f MiB/s, peak RSS %.0f MiB" % (mib / verify_s, verify_rss)),
        ]
        for name, seconds, note in rows:
            print("  %-42s %8.2f s   %s" % (name, seconds, note))
        print()
        print("staging+verification / rsync alone:          %.2f   (target <= 1.0)%s"
              % (stage_s / rsync_s, "; median of %d rounds %.2f" % (len(rounds), median_ratio) if len(rounds) > 1
                 else ""))
        print("staging+verification / (rsync + sync):       %.2f" % (stage_s / (rsync_s + sync_s)))
        print("staging+verification / by hand (rsync+sync+sha256sum -c): %.2f" % (stage_s / (rsync_s + sync_s + sha_s)))
        print("peak RSS of the staging process:             %.0f MiB (target <= 256 MiB)" % stage_rss)
        ratios = (100 * noop_s / stage_s, 100 * warm_s / stage_s, 100 * noop["seconds"] / first["seconds"])
        print("no-op re-run / first run:                    %.1f %% cold, %.1f %% warm  (target <= 2 %%); "
              "inside the module %.2f %%" % ratios)
        mb = total / 1e6
        floor_stage = mb / disk_read + mb / disk_write + mb / disk_read
        floor_rsync = mb / disk_read + mb / disk_write
        print("disk-bound floor, staging (read + write + read back at the best dd speeds): %.2f s; staging took %.2f x"
              % (floor_stage, stage_s / floor_stage))
        print("disk-bound floor, rsync (read + write at the best dd speeds):               %.2f s; rsync took %.2f x"
              % (floor_rsync, rsync_s / floor_rsync))
    finally:
        if not opts.keep:
            shutil.rmtree(work, ignore_errors=True)
            print("removed %s" % work)


if __name__ == "__main__":
    main()
