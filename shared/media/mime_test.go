package media

import "testing"

// TestMIMEFromExtension pins the extension table, including the Gemini
// spellings (video/mov, audio/mp3) and that queries and case do not matter.
func TestMIMEFromExtension(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a.png", "image/png"},
		{"a.jpeg", "image/jpeg"},
		{"a.JPG", "image/jpeg"},
		{"a.webp", "image/webp"},
		{"a.heic", "image/heic"},
		{"a.heif", "image/heif"},
		{"a.gif", "image/gif"},
		{"a.bmp", "image/bmp"},
		{"v.mp4", "video/mp4"},
		{"v.mpeg", "video/mpeg"},
		{"v.mpg", "video/mpg"},
		{"v.mov", "video/mov"},
		{"v.avi", "video/avi"},
		{"v.flv", "video/x-flv"},
		{"v.webm", "video/webm"},
		{"v.wmv", "video/wmv"},
		{"v.3gp", "video/3gpp"},
		{"v.3gpp", "video/3gpp"},
		{"v.mkv", "video/x-matroska"},
		{"s.wav", "audio/wav"},
		{"s.mp3", "audio/mp3"},
		{"s.aiff", "audio/aiff"},
		{"s.aac", "audio/aac"},
		{"s.ogg", "audio/ogg"},
		{"s.flac", "audio/flac"},
		{"s.m4a", "audio/m4a"},
		{"s.opus", "audio/opus"},
		{"s.pcm", "audio/pcm"},
		{"d.pdf", "application/pdf"},
		{"d.txt", "text/plain"},
		{"d.csv", "text/csv"},
		{"https://cdn.example.com/v/clip.mp4?X-Amz-Signature=abc.png", "video/mp4"},
		{"https://cdn.example.com/v/clip.mp4#t=10", "video/mp4"},
		{"/local/path/photo.PNG", "image/png"},
		{"gs://bucket/dir/report.pdf", "application/pdf"},
		{"https://example.com/", ""},
		{"https://example.com/image", ""},
		{"https://example.com.png/image", ""}, // the host is not the path
		{"archive.tar.gz", ""},
		{"", ""},
		{"noext", ""},
		{".png", "image/png"},
	}
	for _, tt := range tests {
		if got := MIMEFromExtension(tt.in); got != tt.want {
			t.Errorf("MIMEFromExtension(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestAudioFormatMIME pins the OpenAI input_audio format table.
func TestAudioFormatMIME(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"wav", "audio/wav", true},
		{"mp3", "audio/mp3", true},
		{"MP3", "audio/mp3", true},
		{"aac", "audio/aac", true},
		{"flac", "audio/flac", true},
		{"ogg", "audio/ogg", true},
		{"opus", "audio/opus", true},
		{"pcm16", "audio/pcm;rate=24000", true},
		{"aiff", "audio/aiff", true},
		{"m4a", "audio/m4a", true},
		{"", "", false},
		{"midi", "", false},
		{"audio/wav", "", false},
	}
	for _, tt := range tests {
		got, ok := AudioFormatMIME(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("AudioFormatMIME(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
