namespace Ferry.Control.Api;

/// <summary>
/// The activation script served at /install.sh: it downloads the agent package from the same
/// control plane, unpacks it into --dir (default /opt/ferry-agent) and runs ./agent there with the
/// other options it was given. The activation code travels to the agent in its environment, not on
/// its command line, so it does not show in the process list.
/// </summary>
public static class InstallScript
{
    public const string PackageName = "agent-linux-x64.tar.gz";

    public static string Render(string server) => Template
        .Replace("@SERVER@", server.Replace("'", "", StringComparison.Ordinal), StringComparison.Ordinal)
        .Replace("@PACKAGE@", PackageName, StringComparison.Ordinal);

    private const string Template = """
        #!/usr/bin/env bash
        # Ferry agent installer: curl -fsSL @SERVER@/install.sh | sudo bash -s -- --code ID:SECRET [--dir DIR] [--yes] [agent options]
        set -euo pipefail
        server='@SERVER@'
        dir=/opt/ferry-agent
        args=()
        while [ $# -gt 0 ]; do
          case "$1" in
            --dir) dir="$2"; shift 2 ;;
            --dir=*) dir="${1#--dir=}"; shift ;;
            --code) export FERRY_CODE="$2"; shift 2 ;;
            --code=*) export FERRY_CODE="${1#--code=}"; shift ;;
            *) args+=("$1"); shift ;;
          esac
        done
        if [ "$(id -u)" -ne 0 ]; then
          echo "error E_NOT_ROOT: the agent must be installed and run as root (… | sudo bash -s -- …)" >&2
          exit 3
        fi
        mkdir -p "$dir"
        chmod 700 "$dir"
        package=$(mktemp)
        trap 'rm -f "$package"' EXIT
        if command -v curl >/dev/null 2>&1; then
          curl -fsSL "$server/download/@PACKAGE@" -o "$package"
        elif command -v wget >/dev/null 2>&1; then
          wget -qO "$package" "$server/download/@PACKAGE@"
        else
          echo "error E_CONTROL_UNREACHABLE: neither curl nor wget is installed" >&2
          exit 5
        fi
        tar -xzf "$package" -C "$dir"
        cd "$dir"
        exec ./agent --server "$server" "${args[@]}"
        """;
}
