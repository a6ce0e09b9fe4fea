/* cli.h - subcommands of the xaid binary. Each returns the process exit code. */
#ifndef XAID_CLI_H
#define XAID_CLI_H

int cli_info(int argc, char **argv);
int cli_predict(int argc, char **argv);
int cli_serve(int argc, char **argv);

#endif
