/** Package name -> its directory, for every node_modules package in a .js.map under dist/. */
export declare function bundledPackages(distDir?: string): Map<string, string>
/** licenses.txt text for those packages: name, license type, license text; sorted by name. */
export declare function renderLicenses(packages: Map<string, string>): string
