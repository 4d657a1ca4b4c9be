package config

import (
	"fmt"
	"math/big"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Size is a byte count. It reads from YAML as a plain integer ("1048576") or
// a number with a unit ("1MiB", "512 KiB", "50KB", "1.5GiB"): B, KB/MB/GB/TB
// (powers of 1000; K/M/G/T too) and KiB/MiB/GiB/TiB (powers of 1024; Ki/Mi/
// Gi/Ti too). Units are case-insensitive. It writes back in the largest unit
// that represents it exactly ("1MiB", "50KB").
type Size int64

// Byte-size units.
const (
	KB Size = 1000
	MB Size = 1000 * KB
	GB Size = 1000 * MB
	TB Size = 1000 * GB

	KiB Size = 1 << 10
	MiB Size = 1 << 20
	GiB Size = 1 << 30
	TiB Size = 1 << 40
)

// sizeUnits maps lower-cased unit names to their multipliers.
var sizeUnits = map[string]Size{
	"": 1, "b": 1,
	"k": KB, "kb": KB, "m": MB, "mb": MB, "g": GB, "gb": GB, "t": TB, "tb": TB,
	"ki": KiB, "kib": KiB, "mi": MiB, "mib": MiB, "gi": GiB, "gib": GiB, "ti": TiB, "tib": TiB,
}

// sizeFormats is the order in which String tries units: IEC first.
var sizeFormats = []struct {
	name string
	unit Size
}{
	{"TiB", TiB}, {"GiB", GiB}, {"MiB", MiB}, {"KiB", KiB},
	{"TB", TB}, {"GB", GB}, {"MB", MB}, {"KB", KB},
}

// String formats s in the largest unit that represents it exactly: "1MiB",
// "512KiB", "50KB", "1000B"; zero is "0".
func (s Size) String() string {
	if s == 0 {
		return "0"
	}
	for _, f := range sizeFormats {
		if s%f.unit == 0 {
			return fmt.Sprintf("%d%s", s/f.unit, f.name)
		}
	}
	return fmt.Sprintf("%dB", int64(s))
}

// ParseSize parses a byte count such as "1MiB", "512 KiB", "50KB", "1.5GiB"
// or "1048576". Negative sizes are rejected.
func ParseSize(str string) (Size, error) {
	s := strings.TrimSpace(str)
	if s == "" {
		return 0, fmt.Errorf("empty size")
	}
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	num, unit := s[:i], strings.TrimSpace(s[i:])
	if num == "" {
		if strings.HasPrefix(s, "-") {
			return 0, fmt.Errorf("%q: size must not be negative", str)
		}
		return 0, fmt.Errorf("%q: invalid size (want e.g. \"1MiB\", \"512KiB\", \"50KB\" or a number of bytes)", str)
	}
	mult, ok := sizeUnits[strings.ToLower(unit)]
	if !ok {
		return 0, fmt.Errorf("%q: unknown unit %q (want B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)", str, unit)
	}
	r, ok := new(big.Rat).SetString(num)
	if !ok || strings.Count(num, ".") > 1 || strings.HasPrefix(num, ".") || strings.HasSuffix(num, ".") {
		return 0, fmt.Errorf("%q: invalid number %q", str, num)
	}
	r.Mul(r, new(big.Rat).SetInt64(int64(mult)))
	if !r.IsInt() {
		return 0, fmt.Errorf("%q: not a whole number of bytes", str)
	}
	n := r.Num()
	if !n.IsInt64() {
		return 0, fmt.Errorf("%q: size out of range", str)
	}
	return Size(n.Int64()), nil
}

// UnmarshalYAML implements yaml.Unmarshaler.
func (s *Size) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return scalarTypeError(n, "a size such as \"1MiB\"")
	}
	v, err := ParseSize(n.Value)
	if err != nil {
		return nodeError(n, err)
	}
	*s = v
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (s Size) MarshalYAML() (any, error) {
	if s == 0 {
		return 0, nil
	}
	return s.String(), nil
}
