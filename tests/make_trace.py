#!/usr/bin/env python3
"""Writes `.nns` traces (docs/trace-format.md, version 1, or 2 with version=2) for tests.

An independent writer, built from the format document alone (not from the
preload's writer): valid traces with numbers chosen by hand, and corrupt ones
(every field can be set to anything, raw records can be appended).

    from make_trace import Trace
    t = Trace(pid=10, rank=0, frame_mode="auto")
    c = t.op("conv_fwd", macs=1000, flops=2000, signature=1, host_ns=5000)
    t.gpu_time(c, 0, 2000)
    t.end()                       # totals added up from the ops, or given
    t.write("r.nns")

Run as a program, it writes a small demonstration trace:

    python3 tests/make_trace.py OUT.nns [--frames N] [--incomplete]
    python3 tests/make_trace.py --fuzz-seeds tests/fuzz/seeds-fuzz_trace
"""
import json
import struct
import sys

MAGIC = b"NNSPYTRC"
VERSION = 1
STRING, OP, GPU_TIME, FRAME, END, KIND, PACKED, MODULE, SITE = 1, 2, 3, 4, 5, 6, 7, 8, 9
SUCCEEDED, COST_KNOWN, OVERFLOW, BYTES_INCOMPLETE = 1, 2, 4, 8
APIS = {"cudnn": 0, "cublas": 1, "cublasLt": 2}
U64_MAX = 2**64 - 1
PACKED_MAX = 64 << 10  # payload bytes of one PACKED record, at most
FUNCTIONS = {"conv_fwd": "cudnnConvolutionForward", "add_tensor": "cudnnAddTensor",
             "activation": "cudnnActivationForward", "gemm": "cublasSgemm_v2",
             "pool_fwd": "cudnnPoolingForward"}


def record(rtype, payload, reserved=0, length=None):
    """One record: u16 type, u16 reserved, u32 payload length, payload."""
    n = len(payload) if length is None else length
    return struct.pack("<HHI", rtype, reserved, n) + payload


def header(obj=None, magic=MAGIC, version=VERSION, raw_json=None, length=None):
    text = raw_json if raw_json is not None else json.dumps(obj).encode()
    n = len(text) if length is None else length
    return magic + struct.pack("<II", version, n) + text


class Trace:
    def __init__(self, pid=1234, rank=None, host="testhost", exe="/usr/bin/app", args=None,
                 device="nnspy simulated GPU", simulated=True, peak_tflops=None,
                 frame_mode="auto", timing_mode="events", start_time_ns=1_700_000_000_000_000_000,
                 start_monotonic_ns=1_000_000, version=VERSION, **extra):
        self.head = {"nnspy_version": "0.1.0", "pid": pid, "rank": rank, "host": host,
                     "exe": exe, "args": args if args is not None else [exe],
                     "start_time_ns": start_time_ns, "start_monotonic_ns": start_monotonic_ns,
                     "device": {"name": device, "simulated": simulated,
                                "peak_tflops": peak_tflops},
                     "frame_mode": frame_mode, "timing_mode": timing_mode, **extra}
        self.records = []
        self.ids = {}
        self.ops = []  # (call, kwargs) as written, for totals
        self.next_call = 0
        # version 2: calls and GPU times go into PACKED records, as deltas
        self.version = version
        self.kinds = {}  # OP payload without call, frame, host time -> kind id
        self.pending = bytearray()
        self.last = None

    # ------------------------------------------------------------ version 2
    @staticmethod
    def varint(v):
        out = bytearray()
        while v >= 0x80:
            out.append((v & 0x7f) | 0x80)
            v >>= 7
        out.append(v)
        return bytes(out)

    @staticmethod
    def zigzag(d):
        d = (d + 2**63) % 2**64 - 2**63  # modulo 2^64, as a signed 64-bit number
        return 2 * d if d >= 0 else -2 * d - 1

    def bases(self):
        """The values the entries' deltas are from; a new PACKED record starts afresh."""
        if self.last is None:
            self.last = dict(call=-1, host=0, frame=0, gpu_call=0, gpu_start=0)
        return self.last

    def entry(self, *numbers):
        """One PACKED entry; a PACKED record holds at most 64 KiB of them, so a full
        one is closed first (the next starts from the bases again)."""
        data = b"".join(self.varint(n) for n in numbers)
        if len(self.pending) + len(data) > PACKED_MAX:
            self.flush()
            return False
        self.pending += data
        return True

    def flush(self):
        if self.pending:
            data, self.pending, self.last = bytes(self.pending), bytearray(), None
            self.records.append(record(PACKED, data))

    def packed_call(self, body, call, host_ns, frame):
        if body not in self.kinds:
            self.kinds[body] = len(self.kinds) + 1
            self.raw(KIND, struct.pack("<I", self.kinds[body]) + body)
        while True:  # again from fresh bases when the PACKED record was full
            last = self.bases()
            if self.entry(self.kinds[body] << 2, self.zigzag(call - last["call"] - 1),
                          self.zigzag(host_ns - last["host"]), self.zigzag(frame - last["frame"])):
                break
        last.update(call=call, host=host_ns, frame=frame)

    # ------------------------------------------------------------ records
    def raw(self, rtype, payload, reserved=0, length=None):
        self.flush()
        self.records.append(record(rtype, payload, reserved, length))

    def string(self, text):
        """The id of text (0 for ""), defined by a STRING record the first time."""
        if not text:
            return 0
        if text not in self.ids:
            sid = len(self.ids) + 1
            self.ids[text] = sid
            self.raw(STRING, struct.pack("<I", sid) + text.encode())
        return self.ids[text]

    def op(self, op="gemm", macs=0, flops=None, bytes_read=0, bytes_written=0, params=0,
           signature=None, host_ns=0, frame=0, api=None, function=None, shape="", dtype="f32",
           succeeded=True, cost_known=True, overflow=False, bytes_incomplete=False,
           workspace=0, call=None, site=0, tune_key=0, tune_variant=0, tune_search=False):
        """One OP record; returns its call number. flops defaults to 2 x MACs."""
        if call is None:
            call = self.next_call
        self.next_call = max(self.next_call, call + 1)
        if flops is None:
            flops = min(2 * macs, U64_MAX)
        if api is None:
            api = "cublas" if op == "gemm" else "cudnn"
        function = function or FUNCTIONS.get(op, "cudnn" + op)
        if signature is None:
            signature = hash(op) & U64_MAX
        flags = ((SUCCEEDED if succeeded else 0) | (COST_KNOWN if cost_known else 0) |
                 (OVERFLOW if overflow else 0) | (BYTES_INCOMPLETE if bytes_incomplete else 0))
        ids = [self.string(function), self.string(op), self.string(shape), self.string(dtype)]
        payload = struct.pack("<QI4IIII6QqQ", call, APIS.get(api, api), *ids, flags, frame, site,
                              macs, flops, bytes_read, bytes_written, params, signature,
                              host_ns, workspace)
        assert len(payload) == 104
        if self.version >= 2:
            # Version 2 adds autotuning (key, variant, flags) and 4 reserved bytes.
            body = struct.pack("<QI4IIII6QqQIIII", 0, APIS.get(api, api), *ids, flags, 0, site,
                               macs, flops, bytes_read, bytes_written, params, signature, 0,
                               workspace, tune_key, tune_variant, 1 if tune_search else 0, 0)
            assert len(body) == 120
            self.packed_call(body, call, host_ns, frame)
        else:
            self.raw(OP, payload)
        self.ops.append(dict(call=call, macs=macs, flops=flops, bytes_read=bytes_read,
                             bytes_written=bytes_written, succeeded=succeeded,
                             cost_known=cost_known, overflow=overflow,
                             bytes_incomplete=bytes_incomplete))
        return call

    def module(self, module_id, path, build_id=b""):
        """A MODULE record (version 2): a loaded object call sites lie in."""
        self.raw(MODULE, struct.pack("<II", module_id, len(build_id)) + build_id + path.encode())

    def site(self, site_id, native=(), python=(), flags=0):
        """A SITE record (version 2): native frames (module id, address), innermost
        first, and Python frames (file, function, line)."""
        payload = struct.pack("<IIII", site_id, flags, len(native), len(python))
        for module_id, address in native:
            payload += struct.pack("<IIQ", module_id, 0, address)
        for file, function, line in python:
            payload += struct.pack("<IIII", self.string(file), self.string(function), line, 0)
        self.raw(SITE, payload)

    def gpu_time(self, call, start_ns, end_ns):
        if self.version < 2:
            self.raw(GPU_TIME, struct.pack("<Qqq", call, start_ns, end_ns))
            return
        while True:  # again from fresh bases when the PACKED record was full
            last = self.bases()
            if self.entry(self.zigzag(call - last["gpu_call"]) << 2 | 1,
                          self.zigzag(start_ns - last["gpu_start"]),
                          self.zigzag(end_ns - start_ns)):
                break
        last.update(gpu_call=call, gpu_start=start_ns)

    def frame(self, number, begin_ns, end_ns):
        self.raw(FRAME, struct.pack("<IIqq", number, 0, begin_ns, end_ns))

    def totals(self, params=0, param_bytes=0):
        """The totals the preload would report for the ops written (params given)."""
        t = dict(calls=len(self.ops), failed_calls=0, unknown_cost_calls=0, macs=0, flops=0,
                 params=params, param_bytes=param_bytes, bytes_read=0, bytes_written=0,
                 overflow=False, params_incomplete=False, bytes_incomplete=False)
        for o in self.ops:
            if not o["succeeded"]:
                t["failed_calls"] += 1
            elif not o["cost_known"]:
                t["unknown_cost_calls"] += 1
            else:
                for k in ("macs", "flops", "bytes_read", "bytes_written"):
                    t[k] = min(U64_MAX, t[k] + o[k])
                t["overflow"] |= o["overflow"]
                t["bytes_incomplete"] |= o["bytes_incomplete"]
        return t

    def end(self, totals=None, timing=None, dropped=0, params=0, param_bytes=0, raw_json=None):
        if raw_json is None:
            totals = totals if totals is not None else self.totals(params, param_bytes)
            if timing is None:
                timing = {"mode": self.head["timing_mode"], "available": True,
                          "timed_calls": 0, "dropped_calls": 0, "attributed_kernels": 0,
                          "other_kernels": 0, "other_gpu_ms": 0.0, "reason": None}
            raw_json = json.dumps({"totals": totals, "timing": timing,
                                   "dropped_records": dropped}).encode()
        self.raw(END, raw_json)

    # ------------------------------------------------------------ the file
    def to_bytes(self, **header_kw):
        self.flush()
        header_kw.setdefault("version", self.version)
        return header(self.head, **header_kw) + b"".join(self.records)

    def write(self, path, **header_kw):
        data = self.to_bytes(**header_kw)
        with open(path, "wb") as f:
            f.write(data)
        return data


def demo(frames=4, complete=True, version=VERSION):
    """Two set-up calls, then `frames` frames of conv, bias add, GEMM, timed."""
    t = Trace(pid=4242, rank=0, frame_mode="auto", version=version)
    host = 1_000_000
    c = t.op("gemm", macs=64, signature=900, host_ns=host, shape="setup")
    t.gpu_time(c, 0, 1000)
    c = t.op("gemm", macs=64, signature=901, host_ns=host + 500, shape="setup 2")
    t.gpu_time(c, 1000, 2000)
    for k in range(frames):
        h, g = host + 10_000 * (k + 1), 10_000 * (k + 1)
        c = t.op("conv_fwd", macs=1_000_000, signature=1, host_ns=h, params=1728,
                 shape="1x3x32x32 * 64x3x3x3 -> 1x64x30x30")
        t.gpu_time(c, g, g + 2000)
        c = t.op("add_tensor", flops=1000, signature=2, host_ns=h + 1000, params=64,
                 shape="1x64x30x30")
        t.gpu_time(c, g + 2000, g + 2500)
        c = t.op("gemm", macs=500_000, signature=3, host_ns=h + 2000, params=5000,
                 shape="TN 100x50 * 50x100 -> 100x100")
        t.gpu_time(c, g + 2500, g + 4000 + 100 * k)
    if complete:
        t.end(params=1728 + 64 + 5000, param_bytes=4 * (1728 + 64 + 5000))
    return t


def fuzz_seeds(directory):
    """The seed corpus of tests/fuzz/fuzz_trace.c (tests/fuzz/seeds-fuzz_trace)."""
    demo(4).write(f"{directory}/auto.trace")
    demo(3, complete=False).write(f"{directory}/incomplete.trace")
    demo(4, version=2).write(f"{directory}/packed.trace")
    t = Trace(frame_mode="marker", rank=None)
    t.frame(1, 100, 900)
    c = t.op("conv_fwd", macs=10, host_ns=200, frame=1, shape='a, "b"')
    t.gpu_time(c, 0, 50)
    t.gpu_time(c, 10, 70)
    t.frame(2, 1000, 1000)
    t.op("gemm", macs=U64_MAX, overflow=True, host_ns=1100, succeeded=False)
    t.raw(42, b"xyz")
    t.end(totals=t.totals(), dropped=3)
    t.write(f"{directory}/marker.trace")


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    if argv[0] == "--fuzz-seeds" and len(argv) == 2:
        fuzz_seeds(argv[1])
        return 0
    frames, complete = 4, True
    args = list(argv[1:])
    while args:
        a = args.pop(0)
        if a == "--frames":
            frames = int(args.pop(0))
        elif a == "--incomplete":
            complete = False
        else:
            print(f"make_trace.py: unknown argument {a}", file=sys.stderr)
            return 2
    demo(frames, complete).write(argv[0])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
