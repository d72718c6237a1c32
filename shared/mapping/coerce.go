package mapping

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Ocean parses port-app-config with pydantic v1 models, which coerce
// loosely typed values (port_ocean/core/handlers/port_app_config/models.py
// and the integrations' integration.py). A mapping that Ocean loads must
// load here too, so option values are read with the same rules:
//
//   - booleans: true/false, 1/0, and the strings 1/0, true/false, yes/no,
//     on/off, t/f, y/n in any case (pydantic.v1 bool_validator);
//   - numbers: numbers, and strings holding one ("90", "0.5");
//   - strings: strings, and numbers written without quotes.

// pyBool reads a boolean the way pydantic v1 does.
func pyBool(v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case int:
		if x == 0 || x == 1 {
			return x == 1, nil
		}
	case float64:
		if x == 0 || x == 1 {
			return x == 1, nil
		}
	case string:
		switch strings.ToLower(x) {
		case "1", "on", "t", "true", "y", "yes":
			return true, nil
		case "0", "off", "f", "false", "n", "no":
			return false, nil
		}
	}
	return false, fmt.Errorf("must be true or false, got %s", shown(v))
}

// pyFloat reads a number the way pydantic v1's float does.
func pyFloat(v any) (float64, error) {
	switch x := v.(type) {
	case int:
		return float64(x), nil
	case float64:
		return x, nil
	case bool:
		// pydantic accepts it (bool is an int in Python), but nobody
		// means a number by it.
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			return f, nil
		}
	}
	return 0, fmt.Errorf("must be a number, got %s", shown(v))
}

// pyInt reads a whole number: an int, a float (truncated, as Python's
// int() does) or a string holding a whole number.
func pyInt(v any) (int, error) {
	switch x := v.(type) {
	case int:
		return x, nil
	case float64:
		return int(x), nil
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(x))
		if err == nil {
			return n, nil
		}
	}
	return 0, fmt.Errorf("must be a whole number, got %s", shown(v))
}

// pyString reads a string; numbers written without quotes are accepted.
func pyString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case int:
		return strconv.Itoa(x), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	}
	return "", fmt.Errorf("must be a string, got %s", shown(v))
}

// pyStrings reads a list of strings. A single string is accepted as a
// one-element list (pydantic would refuse it; accepting it costs nothing
// and reads as the user meant).
func pyStrings(v any) ([]string, error) {
	switch x := v.(type) {
	case string:
		return []string{x}, nil
	case []any:
		out := make([]string, 0, len(x))
		for i, e := range x {
			s, err := pyString(e)
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("must be a list of strings, got %s", shown(v))
}

// shown describes a value for an error message: short values are quoted,
// long ones only typed (a mapping value is never a secret, but a message
// should stay one line).
func shown(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		if len(x) > 40 {
			return fmt.Sprintf("a %d-character string", len(x))
		}
		return strconv.Quote(x)
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	}
	return fmt.Sprint(v)
}
