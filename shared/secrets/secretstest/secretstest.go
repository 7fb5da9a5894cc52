// Package secretstest is an in-process fake of Secret Manager's gRPC service on loopback, for
// testing code that uses the real cloud.google.com/go/secretmanager client. It implements
// GetSecret, AccessSecretVersion and AddSecretVersion with the service's naming, "latest"
// alias, CRC32C checks and error codes.
package secretstest

import (
	"context"
	"fmt"
	"hash/crc32"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Server is a fake Secret Manager. Secrets are created with AddSecret; versions are added
// through the API or with AddVersion.
type Server struct {
	secretmanagerpb.UnimplementedSecretManagerServiceServer

	// Addr is the host:port the server listens on.
	Addr string

	srv *grpc.Server

	mu       sync.Mutex
	secrets  map[string]*secret // by projects/P/secrets/S
	deny     map[string]codes.Code
	accesses int
}

type secret struct {
	versions []*version // versions[i] is version i+1
}

type version struct {
	data     []byte
	disabled bool
}

var crc32c = crc32.MakeTable(crc32.Castagnoli)

// NewServer starts a fake on a loopback port and stops it when the test ends.
func NewServer(t testing.TB) *Server {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{
		Addr:    lis.Addr().String(),
		srv:     grpc.NewServer(),
		secrets: map[string]*secret{},
		deny:    map[string]codes.Code{},
	}
	secretmanagerpb.RegisterSecretManagerServiceServer(s.srv, s)
	go s.srv.Serve(lis)
	t.Cleanup(s.srv.Stop)
	return s
}

// ClientOptions returns the options that point the real client at the fake: its address,
// plaintext gRPC and no credentials.
func (s *Server) ClientOptions() []option.ClientOption {
	return []option.ClientOption{
		option.WithEndpoint(s.Addr),
		option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
	}
}

// AddSecret creates an empty secret, projects/P/secrets/S.
func (s *Server) AddSecret(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.secrets[name] == nil {
		s.secrets[name] = &secret{}
	}
}

// AddVersion adds data as the next version of an existing secret and returns its name.
func (s *Server) AddVersion(secretName string, data []byte) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.secrets[secretName]
	if sec == nil {
		panic("keystest: no secret " + secretName)
	}
	sec.versions = append(sec.versions, &version{data: append([]byte(nil), data...)})
	return fmt.Sprintf("%s/versions/%d", secretName, len(sec.versions))
}

// DisableVersion disables version n (from 1) of a secret.
func (s *Server) DisableVersion(secretName string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secrets[secretName].versions[n-1].disabled = true
}

// Latest returns the payload of the newest version of a secret, or nil.
func (s *Server) Latest(secretName string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.secrets[secretName]
	if sec == nil || len(sec.versions) == 0 {
		return nil
	}
	return append([]byte(nil), sec.versions[len(sec.versions)-1].data...)
}

// Versions returns the number of versions of a secret.
func (s *Server) Versions(secretName string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sec := s.secrets[secretName]; sec != nil {
		return len(sec.versions)
	}
	return 0
}

// Deny makes every call on the secret (projects/P/secrets/S) fail with code, as IAM does with
// PermissionDenied; codes.OK lifts it.
func (s *Server) Deny(secretName string, code codes.Code) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == codes.OK {
		delete(s.deny, secretName)
		return
	}
	s.deny[secretName] = code
}

// Accesses returns how many AccessSecretVersion calls the fake has answered.
func (s *Server) Accesses() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accesses
}

// splitVersion parses projects/P/secrets/S/versions/V.
func splitVersion(name string) (secretName, v string, ok bool) {
	i := strings.LastIndex(name, "/versions/")
	if i < 0 {
		return "", "", false
	}
	secretName, v = name[:i], name[i+len("/versions/"):]
	return secretName, v, validSecret(secretName) && v != "" && !strings.Contains(v, "/")
}

func validSecret(name string) bool {
	p := strings.Split(name, "/")
	return len(p) == 4 && p[0] == "projects" && p[1] != "" && p[2] == "secrets" && p[3] != ""
}

// lookup returns the secret, or the error the service gives (the caller holds s.mu).
func (s *Server) lookup(secretName, permission string) (*secret, error) {
	if code, ok := s.deny[secretName]; ok {
		return nil, status.Errorf(code, "Permission '%s' denied for resource '%s' (or it may not exist).", permission, secretName)
	}
	sec := s.secrets[secretName]
	if sec == nil {
		return nil, status.Errorf(codes.NotFound, "Secret [%s] not found or has no versions.", secretName)
	}
	return sec, nil
}

// GetSecret implements the service.
func (s *Server) GetSecret(_ context.Context, req *secretmanagerpb.GetSecretRequest) (*secretmanagerpb.Secret, error) {
	if !validSecret(req.GetName()) {
		return nil, status.Errorf(codes.InvalidArgument, "invalid secret name %q", req.GetName())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.lookup(req.GetName(), "secretmanager.secrets.get"); err != nil {
		return nil, err
	}
	return &secretmanagerpb.Secret{Name: req.GetName()}, nil
}

// AccessSecretVersion implements the service. "latest" is the most recently created version;
// a disabled version is FailedPrecondition.
func (s *Server) AccessSecretVersion(_ context.Context, req *secretmanagerpb.AccessSecretVersionRequest) (*secretmanagerpb.AccessSecretVersionResponse, error) {
	secretName, v, ok := splitVersion(req.GetName())
	if !ok {
		return nil, status.Errorf(codes.InvalidArgument, "invalid secret version name %q", req.GetName())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accesses++
	sec, err := s.lookup(secretName, "secretmanager.versions.access")
	if err != nil {
		return nil, err
	}
	n := len(sec.versions)
	if v != "latest" {
		if n, err = strconv.Atoi(v); err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "invalid version %q", v)
		}
	}
	if n < 1 || n > len(sec.versions) {
		return nil, status.Errorf(codes.NotFound, "Secret Version [%s] not found.", req.GetName())
	}
	ver := sec.versions[n-1]
	name := fmt.Sprintf("%s/versions/%d", secretName, n)
	if ver.disabled {
		return nil, status.Errorf(codes.FailedPrecondition, "Secret Version [%s] is in DISABLED state.", name)
	}
	sum := int64(crc32.Checksum(ver.data, crc32c))
	return &secretmanagerpb.AccessSecretVersionResponse{
		Name:    name,
		Payload: &secretmanagerpb.SecretPayload{Data: append([]byte(nil), ver.data...), DataCrc32C: &sum},
	}, nil
}

// AddSecretVersion implements the service, checking the payload's CRC32C when sent.
func (s *Server) AddSecretVersion(_ context.Context, req *secretmanagerpb.AddSecretVersionRequest) (*secretmanagerpb.SecretVersion, error) {
	if !validSecret(req.GetParent()) {
		return nil, status.Errorf(codes.InvalidArgument, "invalid secret name %q", req.GetParent())
	}
	p := req.GetPayload()
	if p.DataCrc32C != nil && int64(crc32.Checksum(p.GetData(), crc32c)) != p.GetDataCrc32C() {
		return nil, status.Error(codes.DataLoss, "Checksum mismatch.")
	}
	if len(p.GetData()) > 64*1024 {
		return nil, status.Error(codes.InvalidArgument, "Secret payload exceeds 65536 bytes.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec, err := s.lookup(req.GetParent(), "secretmanager.versions.add")
	if err != nil {
		return nil, err
	}
	sec.versions = append(sec.versions, &version{data: append([]byte(nil), p.GetData()...)})
	return &secretmanagerpb.SecretVersion{
		Name:       fmt.Sprintf("%s/versions/%d", req.GetParent(), len(sec.versions)),
		CreateTime: timestamppb.Now(),
		State:      secretmanagerpb.SecretVersion_ENABLED,
	}, nil
}
