# placeholder; provided by the Matter work
