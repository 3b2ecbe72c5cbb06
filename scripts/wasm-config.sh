# Sourced by scripts/build.sh and scripts/size_dicom.sh (from the repository root): reading
# wasm-pack.toml, and the cargo profile settings it declares for the wasm builds.

# cfg KEY.PATH: a value of wasm-pack.toml (Python's tomllib, standard since 3.11); lists are
# printed space-separated, booleans as true/false. Fails when the key is missing.
cfg() { python3 -c '
import sys, tomllib
v = tomllib.load(open("wasm-pack.toml", "rb"))
for k in sys.argv[1].split("."):
    v = v[k]
print(" ".join(v) if isinstance(v, list) else (str(v).lower() if isinstance(v, bool) else v))' "$1"; }

# profile_env PROFILE TABLE: the cargo profile keys of a wasm-pack.toml table ([cargo_profile],
# or a variant's variants.NAME.cargo_profile) as CARGO_PROFILE_<PROFILE>_<KEY>=value lines,
# which override Cargo.toml's profile for the process given them (native builds keep theirs).
profile_env() {
  local k val
  for k in lto codegen-units opt-level panic; do
    val="$(cfg "$2.$k" 2>/dev/null || true)"
    if [ -n "$val" ]; then
      echo "CARGO_PROFILE_$(echo "$1" | tr a-z- A-Z_)_$(echo "$k" | tr a-z- A-Z_)=$val"
    fi
  done
}

# export_wasm_profile PROFILE: [cargo_profile] of wasm-pack.toml exported for this process.
export_wasm_profile() {
  local line
  while read -r line; do [ -n "$line" ] && export "$line"; done < <(profile_env "$1" cargo_profile)
}
