#!/usr/bin/python3
"""Converts docs/openapi.yaml to compact JSON and writes it as a C source
file, so that the daemon serves the very document the tests check."""
import json
import sys

import yaml


def main() -> int:
    src, dst = sys.argv[1], sys.argv[2]
    with open(src, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    if not isinstance(doc, dict) or not str(doc.get("openapi", "")).startswith("3.1"):
        print(f"{src}: not an OpenAPI 3.1 document", file=sys.stderr)
        return 1
    data = json.dumps(doc, separators=(",", ":"), sort_keys=True).encode("utf-8")
    with open(dst, "w", encoding="ascii") as out:
        out.write("/* Generated from docs/openapi.yaml by scripts/embed-openapi.py. Do not edit. */\n")
        out.write("#include <stddef.h>\n")
        out.write("extern const char cf_openapi_json[];\nextern const size_t cf_openapi_json_len;\n")
        out.write("const char cf_openapi_json[] = {\n")
        for i in range(0, len(data), 16):
            out.write("".join(f"{b}," for b in data[i:i + 16]) + "\n")
        out.write("0};\n")
        out.write(f"const size_t cf_openapi_json_len = {len(data)};\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
