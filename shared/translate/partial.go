package translate

import (
	"strconv"
	"strings"

	"github.com/geminigateway/gateway/shared/gemini"
	"github.com/geminigateway/gateway/shared/openai"
)

// partialCall turns Gemini's streamed function arguments (partialArgs: a JSON path and a value
// fragment each) into argument deltas whose concatenation is the call's JSON text. It keeps the
// stack of open containers and closes and opens them as the paths move.
type partialCall struct {
	index   int
	open    []pathSeg // open containers below the root object
	closers []byte    // the closing byte of each open container
	members []bool    // per open level (root first): has a member been written
	strPath string    // path of a string left open by a willContinue fragment
	started bool      // the root "{" was written
}

type pathSeg struct {
	key   string
	index int
	isIdx bool
}

// addPartialCall handles a functionCall part of a streamed-arguments call: the opening part
// (name, willContinue), fragments (partialArgs), and the closing part (no willContinue).
func (m *Meta) addPartialCall(st *choiceState, a *accum, p *gemini.Part) {
	fc := p.FunctionCall
	if st.partial == nil {
		idx := st.calls
		st.calls++
		st.partial = &partialCall{index: idx}
		tc := openai.ToolCall{Index: &idx, ID: CallID(m.NewCallID(), p.ThoughtSignature), Type: "function",
			Function: openai.FunctionCall{Name: fc.Name}}
		if p.ThoughtSignature != "" {
			tc.ExtraContent = &openai.ExtraContent{Google: &openai.GoogleExtra{ThoughtSignature: p.ThoughtSignature}}
		}
		a.calls = append(a.calls, tc)
	}
	pc := st.partial
	var b strings.Builder
	for _, arg := range fc.PartialArgs {
		pc.fragment(&b, arg)
	}
	if len(fc.Args) > 0 && string(fc.Args) != "null" && !pc.started && len(fc.PartialArgs) == 0 {
		b.WriteString(compactArgs(fc.Args))
		pc.started = true
		pc.members, pc.open, pc.closers = nil, nil, nil
	}
	if !fc.WillContinue {
		pc.finish(&b)
		st.partial = nil
	}
	if b.Len() > 0 {
		idx := pc.index
		a.calls = append(a.calls, openai.ToolCall{Index: &idx, Function: openai.FunctionCall{Arguments: b.String()}})
	}
}

func (pc *partialCall) fragment(b *strings.Builder, arg gemini.PartialArg) {
	path := parsePath(arg.JSONPath)
	if arg.StringValue != nil && pc.strPath == arg.JSONPath && arg.JSONPath != "" {
		esc := rawString(*arg.StringValue)
		b.WriteString(esc[1 : len(esc)-1])
		if !arg.WillContinue {
			b.WriteByte('"')
			pc.strPath = ""
		}
		return
	}
	pc.closeString(b)
	if !pc.started {
		b.WriteByte('{')
		pc.started = true
		pc.members = []bool{false}
	}
	if len(path) == 0 {
		return
	}
	parent, leaf := path[:len(path)-1], path[len(path)-1]
	common := 0
	for common < len(pc.open) && common < len(parent) && pc.open[common] == parent[common] {
		common++
	}
	for len(pc.open) > common {
		pc.closeTop(b)
	}
	for i := common; i < len(parent); i++ {
		pc.member(b, parent[i])
		next := leaf
		if i+1 < len(parent) {
			next = parent[i+1]
		}
		if next.isIdx {
			b.WriteByte('[')
			pc.closers = append(pc.closers, ']')
		} else {
			b.WriteByte('{')
			pc.closers = append(pc.closers, '}')
		}
		pc.open = append(pc.open, parent[i])
		pc.members = append(pc.members, false)
	}
	pc.member(b, leaf)
	switch {
	case arg.StringValue != nil:
		esc := rawString(*arg.StringValue)
		if arg.WillContinue {
			b.WriteString(esc[:len(esc)-1])
			pc.strPath = arg.JSONPath
		} else {
			b.WriteString(esc)
		}
	case arg.NumberValue != "":
		b.WriteString(string(arg.NumberValue))
	case arg.BoolValue != nil:
		b.WriteString(strconv.FormatBool(*arg.BoolValue))
	default:
		b.WriteString("null")
	}
}

// member writes the separator and, inside an object, the key of a new member.
func (pc *partialCall) member(b *strings.Builder, s pathSeg) {
	top := len(pc.members) - 1
	if pc.members[top] {
		b.WriteByte(',')
	}
	pc.members[top] = true
	if !s.isIdx {
		b.WriteString(rawString(s.key))
		b.WriteByte(':')
	}
}

func (pc *partialCall) closeString(b *strings.Builder) {
	if pc.strPath != "" {
		b.WriteByte('"')
		pc.strPath = ""
	}
}

func (pc *partialCall) closeTop(b *strings.Builder) {
	n := len(pc.open) - 1
	b.WriteByte(pc.closers[n])
	pc.open, pc.closers = pc.open[:n], pc.closers[:n]
	pc.members = pc.members[:len(pc.members)-1]
}

func (pc *partialCall) finish(b *strings.Builder) {
	pc.closeString(b)
	if !pc.started {
		b.WriteString("{}")
		return
	}
	for len(pc.open) > 0 {
		pc.closeTop(b)
	}
	b.WriteByte('}')
}

// parsePath splits "$.a.b[0]['c d']" into segments; an unparsable path yields none.
func parsePath(p string) []pathSeg {
	if !strings.HasPrefix(p, "$") {
		return nil
	}
	p = p[1:]
	var out []pathSeg
	for len(p) > 0 {
		switch {
		case p[0] == '.':
			p = p[1:]
			end := strings.IndexAny(p, ".[")
			if end < 0 {
				end = len(p)
			}
			out = append(out, pathSeg{key: p[:end]})
			p = p[end:]
		case strings.HasPrefix(p, "['"):
			end := strings.Index(p, "']")
			if end < 0 {
				return out
			}
			out = append(out, pathSeg{key: p[2:end]})
			p = p[end+2:]
		case p[0] == '[':
			end := strings.IndexByte(p, ']')
			if end < 0 {
				return out
			}
			n, err := strconv.Atoi(p[1:end])
			if err != nil {
				return out
			}
			out = append(out, pathSeg{index: n, isIdx: true})
			p = p[end+1:]
		default:
			return out
		}
	}
	return out
}
