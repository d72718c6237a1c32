// Command terraform-provider-glsync serves the glsync Terraform provider.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/glsync/terraform-provider-glsync/provider"
	"github.com/glsync/terraform-provider-glsync/shared/buildinfo"
)

// version is set by goreleaser at release time.
var version = "dev"

func main() {
	var debug, showVersion bool
	flag.BoolVar(&debug, "debug", false, "run the provider with support for debuggers like delve")
	flag.BoolVar(&showVersion, "version", false, "print the version and exit")
	flag.Parse()
	if showVersion {
		fmt.Println(buildinfo.String("terraform-provider-glsync", version))
		return
	}
	err := providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address: "registry.terraform.io/glsync/glsync",
		Debug:   debug,
	})
	if err != nil {
		log.Fatal(err.Error())
	}
}
